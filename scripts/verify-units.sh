#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks the systemd units in systemd/ with `systemd-analyze verify`.
#
# verify needs the units' executables to exist, so it runs against a temporary root holding the units, the
# distribution's unit directory, and placeholder scripts at the ExecStart and ExecReload paths. verify exits 0
# on unknown keys and unparsable values and only prints them, so any output at all counts as a failure here.
# It verifies the units again with the credential drop-ins that docs/operations.md shows, then checks that a unit
# with a misspelt key does fail, so this script cannot pass vacuously.
set -eu

usage() {
    cat <<USAGE
Usage: scripts/verify-units.sh

Checks systemd/dcf-serverd.service and systemd/dcf-agent@.service with systemd-analyze verify, as shipped
and with the credential drop-ins of docs/operations.md.

Exits 0 when every unit is clean, 1 when one is not, 2 when systemd-analyze is missing, 64 on an invalid
option.
USAGE
}

if [ $# -gt 0 ]; then
    case "$1" in
    -h | --help) usage; exit 0 ;;
    *) echo "verify-units: unknown option '$1'" >&2; usage >&2; exit 64 ;;
    esac
fi

here=$(cd "$(dirname "$0")/.." && pwd)
units="dcf-serverd.service dcf-agent@.service"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "verify-units: systemd-analyze not found; install it with: apt-get install -y systemd" >&2
    exit 2
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT INT TERM

mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/usr/local/bin" "$root/bin"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
for program in /usr/local/bin/dcf-serverd /usr/local/bin/dcf-agent /bin/kill; do
    printf '#!/bin/sh\nexit 0\n' >"$root$program"
    chmod 0755 "$root$program"
done

# Prints the diagnostics for one unit name and returns non-zero when there are any.
verify() {
    output=$(systemd-analyze verify --root="$root" "$1" 2>&1) && status=0 || status=$?
    if [ "$status" -ne 0 ] || [ -n "$output" ]; then
        printf '%s\n' "$output" | sed "s|$root||g" >&2
        return 1
    fi
}

failed=0
for unit in $units; do
    cp "$here/systemd/$unit" "$root/etc/systemd/system/$unit"
done
# A template is verified through an instance, as systemd would start it.
for name in dcf-serverd.service dcf-agent@example.service; do
    if verify "$name"; then
        echo "verify-units: $name ok"
    else
        echo "verify-units: $name FAILED" >&2
        failed=1
    fi
done

# The drop-ins of docs/operations.md ("Private keys and passwords under systemd").
mkdir -p "$root/etc/systemd/system/dcf-serverd.service.d" "$root/etc/systemd/system/dcf-agent@.service.d"
printf '[Service]\nLoadCredential=server.key:/etc/dcf/tls/server.key\nLoadCredential=admin:/etc/dcf/admin.credentials\n' \
    >"$root/etc/systemd/system/dcf-serverd.service.d/override.conf"
printf '[Service]\nLoadCredential=worker.key:/etc/dcf/agent-%%i.key\n' \
    >"$root/etc/systemd/system/dcf-agent@.service.d/override.conf"
for name in dcf-serverd.service dcf-agent@example.service; do
    if verify "$name"; then
        echo "verify-units: $name with credential drop-in ok"
    else
        echo "verify-units: $name with credential drop-in FAILED" >&2
        failed=1
    fi
done

sed 's/^ProtectSystem=/ProtectSytem=/' "$here/systemd/dcf-serverd.service" >"$root/etc/systemd/system/dcf-broken.service"
if verify dcf-broken.service 2>/dev/null; then
    echo "verify-units: a unit with a misspelt key passed verification, so this check is not working" >&2
    failed=1
fi

exit "$failed"
