#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages that building and the demo need. With --tests it also installs strace, for the
# durability test, and the Python packages the interoperability tests use (numpy and safetensors, from PyPI).
# As root it installs what is missing; otherwise it prints the command to run.
set -eu

apt_packages="libssl-dev zlib1g-dev libsqlite3-dev libopenblas-dev openssl dataset-fashion-mnist"
pip_packages="numpy safetensors"
with_tests=0

usage() {
    cat <<USAGE
Usage: scripts/install-deps.sh [--tests]

Installs the Debian packages that building and the demo need:
  $apt_packages
With --tests, also strace for the durability test, python3-pip and the PyPI packages for the
interoperability tests:
  $pip_packages
As root it installs what is missing. As another user it prints the command to run and exits 1.
It exits 0 when nothing is missing, and 64 on an unknown option.
USAGE
}

case "${1:-}" in
"") ;;
--tests) with_tests=1 ;;
-h | --help) usage; exit 0 ;;
*)
    echo "install-deps: unknown option '$1'; use --tests to add the test suite's Python packages, --help for the list" >&2
    exit 64
    ;;
esac
[ "$with_tests" = 0 ] || apt_packages="$apt_packages python3-pip strace"

missing=""
for package in $apt_packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "install-deps: installing Debian packages:$missing"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
    else
        echo "install-deps: missing Debian packages:$missing" >&2
        echo "install-deps: run: sudo apt-get install$missing" >&2
        exit 1
    fi
fi

[ "$with_tests" = 1 ] || exit 0
if ! python3 -c "import numpy, safetensors" 2>/dev/null; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: the tests need the PyPI packages $pip_packages for python3" >&2
        # Debian 12 marks its Python as externally managed, so pip rejects the install without this flag. With
        # --user the packages go to the home directory and leave the system's Python untouched.
        echo "install-deps: run: python3 -m pip install --user --break-system-packages $pip_packages" >&2
        exit 1
    fi
    echo "install-deps: installing PyPI packages: $pip_packages"
    python3 -m pip install --quiet $pip_packages 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages $pip_packages
fi
