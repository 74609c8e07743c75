#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Times N parallel downloads of one S MiB file from nginx over TLS on 127.0.0.1, with curl as the clients.
# The figure shows what a mature C server and client take to move a round's downloads on this machine, next
# to the download figure of dcf-transport-bench.
set -eu
. "$(dirname "$0")/lib/options.sh"

usage() {
    cat <<USAGE
Usage: scripts/bench-nginx.sh [--downloads N] [--mib S] [--runs R] [--dir DIR] [--port PORT]

Serves a file of S MiB (default 13) of random bytes from nginx (2 worker processes, TLS 1.3 with
TLS_AES_128_GCM_SHA256, no sendfile, which TLS rules out without kernel TLS) on 127.0.0.1:PORT (default
18620) and fetches it N times at once (default 100) with 4 curl processes, R times (default 3). Each run
prints the wall time and the CPU seconds of the nginx workers.

nginx comes from Debian: the installed /usr/sbin/nginx if there is one, otherwise the nginx package is
fetched with 'apt-get download' and unpacked into DIR (default bench-nginx), without installing it or
starting any service. Certificates come from scripts/gen-certs.sh. Everything else stays in DIR.
Exit status: 0 after all runs, 1 when a download failed, 64 for an invalid option, 69 when nginx or curl
cannot be found or fetched.
USAGE
}

downloads=100
mib=13
runs=3
dir=bench-nginx
port=18620
while [ $# -gt 0 ]; do
    case "$1" in
    --downloads) downloads="$2"; shift 2 ;;
    --mib) mib="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench-nginx: unknown option '$1'" >&2; usage >&2; exit 64 ;;
    esac
done
require_positive_integers bench-nginx downloads mib runs port
require_port bench-nginx "$port"
if ! command -v curl >/dev/null; then
    echo "bench-nginx: curl is missing; install it with 'apt-get install curl'" >&2
    exit 69
fi

scripts=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

nginx=/usr/sbin/nginx
if [ ! -x "$nginx" ]; then
    nginx="$dir/root/usr/sbin/nginx"
    if [ ! -x "$nginx" ]; then
        echo "bench-nginx: fetching the Debian nginx package into $dir" >&2
        if ! (cd "$dir" && apt-get download nginx >/dev/null 2>&1); then
            echo "bench-nginx: 'apt-get download nginx' failed; run 'apt-get update' or install nginx" >&2
            exit 69
        fi
        dpkg -x "$dir"/nginx_*.deb "$dir/root"
    fi
fi

[ -f "$dir/tls/server.pem" ] || "$scripts/gen-certs.sh" "$dir/tls" >/dev/null
mkdir -p "$dir/www" "$dir/temp"
head -c $((mib * 1048576)) /dev/urandom >"$dir/www/model.bin"
cat >"$dir/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile off;
    output_buffers 2 1m;
    client_body_temp_path $dir/temp;
    proxy_temp_path $dir/temp;
    fastcgi_temp_path $dir/temp;
    uwsgi_temp_path $dir/temp;
    scgi_temp_path $dir/temp;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $dir/tls/server.pem;
        ssl_certificate_key $dir/tls/server.key;
        ssl_protocols TLSv1.3;
        root $dir/www;
    }
}
CONF

"$nginx" -c "$dir/nginx.conf" -p "$dir" >"$dir/nginx.out" 2>&1 &
master=$!
trap 'kill "$master" 2>/dev/null || true; wait "$master" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    curl -s -o /dev/null --cacert "$dir/tls/ca.pem" "https://127.0.0.1:$port/" && break
    if ! kill -0 "$master" 2>/dev/null; then
        echo "bench-nginx: nginx exited at start:" >&2
        cat "$dir/nginx.out" "$dir/error.log" >&2 2>/dev/null || true
        exit 69
    fi
    sleep 0.1
done
workers=$(ps -o pid= --ppid "$master" | tr '\n' ' ')

cpu_ticks() {
    for pid in $workers; do awk '{print $14 + $15}' "/proc/$pid/stat"; done | awk '{s += $1} END {print s}'
}

per_process=$(((downloads + 3) / 4))
echo "nginx $("$nginx" -v 2>&1 | sed 's/.*nginx\///'), $(curl --version | head -1 | cut -d' ' -f1-2)," \
    "$(openssl version | cut -d' ' -f1-2); $downloads downloads of $mib MiB, 4 curl processes"
failed=0
for run in $(seq "$runs"); do
    ticks0=$(cpu_ticks)
    start=$(date +%s.%N)
    pids=""
    left=$downloads
    while [ "$left" -gt 0 ]; do
        count=$((left < per_process ? left : per_process))
        left=$((left - count))
        urls=""
        for _ in $(seq "$count"); do urls="$urls https://127.0.0.1:$port/model.bin -o /dev/null"; done
        # shellcheck disable=SC2086
        curl -sS --fail --no-progress-meter --cacert "$dir/tls/ca.pem" --tls13-ciphers TLS_AES_128_GCM_SHA256 \
            --parallel --parallel-max "$count" $urls &
        pids="$pids $!"
    done
    for pid in $pids; do wait "$pid" || failed=1; done
    end=$(date +%s.%N)
    ticks1=$(cpu_ticks)
    awk -v r="$run" -v s="$start" -v e="$end" -v t0="$ticks0" -v t1="$ticks1" -v hz="$(getconf CLK_TCK)" \
        -v n="$downloads" -v m="$mib" \
        'BEGIN { w = e - s; printf "run %d: %.2f s, %.0f MiB/s, nginx CPU %.2f s\n", r, w, n * m / w, (t1 - t0) / hz }'
done
if [ "$failed" -ne 0 ]; then
    echo "bench-nginx: a download failed; see the curl messages above and $dir/error.log" >&2
    exit 1
fi
