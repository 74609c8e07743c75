#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Makes a private CA, a server certificate and optional client certificates for dcf-serverd and dcf-agent.
set -eu

usage() {
    cat <<'EOF'
Usage: gen-certs.sh [options] DIR [HOSTNAME_OR_IP...]

Creates in DIR (made if missing):
  ca.pem, ca.key           a private CA; give ca.pem to every agent (trusted CA file)
  server.pem, server.key   the server certificate, signed by the CA, for the given
                           host names and IP addresses (default: localhost 127.0.0.1 ::1)
  client-NAME.pem/.key     one client certificate per --client NAME, for mutual TLS

Options:
  --client NAME   also make a client certificate with common name NAME (repeatable)
  --days N        validity of the server and client certificates in days (default 825)
  --ca-days N     validity of the CA in days (default 3650)
  --force         overwrite existing files in DIR
  -h, --help      print this help

An existing ca.pem/ca.key in DIR is reused, so running the script again adds or renews
certificates under the same CA. With only --client options and no host names, an existing
server.pem is kept, so `gen-certs.sh DIR --client site2` adds a client certificate. Naming
hosts (re)makes the server certificate. Replacing an existing certificate or key needs
--force, and a run refused for that writes no file. Keys are P-256 and written with mode
0600, certificates with mode 0644.
Requires the openssl command-line tool.

Exits 0 on success, 64 on an invalid option or argument, 1 when openssl is missing or
fails or a file exists without --force.
EOF
}

days=825
ca_days=3650
force=0
clients=""
dir=""
hosts=""

while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --client) [ $# -ge 2 ] || { echo "error: --client needs a name" >&2; exit 64; }
                  clients="$clients $2"; shift 2 ;;
        --days) [ $# -ge 2 ] || { echo "error: --days needs a number" >&2; exit 64; }
                days="$2"; shift 2 ;;
        --ca-days) [ $# -ge 2 ] || { echo "error: --ca-days needs a number" >&2; exit 64; }
                   ca_days="$2"; shift 2 ;;
        --force) force=1; shift ;;
        -*) echo "error: unknown option '$1'; see --help" >&2; exit 64 ;;
        *) if [ -z "$dir" ]; then dir="$1"; else hosts="$hosts $1"; fi; shift ;;
    esac
done

[ -n "$dir" ] || { usage >&2; exit 64; }
for number in "$days" "$ca_days"; do
    case "$number" in
        ''|*[!0-9]*) echo "error: invalid number of days '$number'; expected a positive integer" >&2; exit 64 ;;
    esac
done
for name in $clients; do
    case "$name" in
        *[!A-Za-z0-9._-]*) echo "error: invalid client name '$name'; use letters, digits, '.', '_' or '-'" >&2
                           exit 64 ;;
    esac
done
command -v openssl >/dev/null 2>&1 || { echo "error: openssl not found; install it (Debian: apt-get install openssl)" >&2; exit 1; }
# The server certificate is made when hosts are named or none exists yet. A run with only --client options
# keeps an existing one, because renewing it with the default hosts would drop the names it was made for.
make_server=1
if [ -z "$hosts" ] && [ -n "$clients" ] && [ -e "$dir/server.pem" ]; then
    make_server=0
fi
[ -n "$hosts" ] || hosts="localhost 127.0.0.1 ::1"

mkdir -p "$dir"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

alt_names=""
for host in $hosts; do
    case "$host" in
        *:*|[0-9]*.[0-9]*.[0-9]*.[0-9]*) entry="IP:$host" ;;
        *) entry="DNS:$host" ;;
    esac
    alt_names="${alt_names:+$alt_names,}$entry"
done

# refuse_overwrite FILE... exits before anything is written when one of the files exists and --force is off.
refuse_overwrite() {
    [ "$force" -eq 0 ] || return 0
    for file in "$@"; do
        if [ -e "$file" ]; then
            echo "error: '$file' exists; pass --force to overwrite it" >&2
            exit 1
        fi
    done
}

# Every certificate and key this run writes is checked first, so a refusal leaves DIR as it was. A CA with
# only one of its two files present is made again, which needs --force because it replaces that file.
reuse_ca=0
if [ -e "$dir/ca.pem" ] && [ -e "$dir/ca.key" ]; then reuse_ca=1; fi
[ "$reuse_ca" -eq 1 ] || refuse_overwrite "$dir/ca.pem" "$dir/ca.key"
[ "$make_server" -eq 0 ] || refuse_overwrite "$dir/server.pem" "$dir/server.key"
for name in $clients; do
    refuse_overwrite "$dir/client-$name.pem" "$dir/client-$name.key"
done

if [ "$reuse_ca" -eq 1 ]; then
    echo "reusing CA $dir/ca.pem"
else
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" -days "$ca_days" -subj "/CN=dcf private CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$work/log" \
        || { cat "$work/log" >&2; exit 1; }
    chmod 644 "$dir/ca.pem"
    echo "wrote $dir/ca.pem and $dir/ca.key"
fi

# sign NAME SUBJECT_CN EXTENDED_KEY_USAGE SUBJECT_ALT_NAMES
sign() {
    cat >"$work/$1.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = $3
subjectAltName = $4
EOF
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/$1.key" -out "$work/$1.csr" -subj "/CN=$2" 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
    openssl x509 -req -in "$work/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -CAserial "$work/ca.srl" -out "$dir/$1.pem" -days "$days" -sha256 -extfile "$work/$1.ext" 2>"$work/log" \
        || { cat "$work/log" >&2; exit 1; }
    chmod 644 "$dir/$1.pem"
    echo "wrote $dir/$1.pem and $dir/$1.key"
}

if [ "$make_server" -eq 1 ]; then
    first_host=${hosts# }
    first_host=${first_host%% *}
    sign server "$first_host" serverAuth "$alt_names"
else
    echo "keeping $dir/server.pem; name the hosts (and pass --force) to renew it"
fi
for name in $clients; do
    sign "client-$name" "$name" clientAuth "DNS:$name"
done
