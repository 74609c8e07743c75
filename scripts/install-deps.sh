#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian and PyPI packages that building, testing and the demo need.
# As root it installs what is missing; otherwise it prints the command to run.
set -eu

apt_packages="libssl-dev zlib1g-dev libsqlite3-dev libopenblas-dev openssl dataset-fashion-mnist python3-pip"
pip_packages="numpy safetensors"

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

if ! python3 -c "import numpy, safetensors" 2>/dev/null; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: missing PyPI packages for python3: $pip_packages" >&2
        echo "install-deps: run: python3 -m pip install --user $pip_packages" >&2
        exit 1
    fi
    echo "install-deps: installing PyPI packages: $pip_packages"
    python3 -m pip install --quiet $pip_packages 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages $pip_packages
fi
