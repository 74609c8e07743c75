# SPDX-License-Identifier: Apache-2.0
# Option checks shared by the scripts; source it with: . "$(dirname "$0")/lib/options.sh"

# require_positive_integers PROGRAM NAME...: exits 64 unless each shell variable NAME is a positive integer,
# naming the option --NAME and its value.
require_positive_integers() {
    program=$1
    shift
    for option in "$@"; do
        eval "value=\$$option"
        case "$value" in
        '' | *[!0-9]* | 0*) echo "$program: --$option must be a positive integer, not '$value'" >&2; exit 64 ;;
        esac
    done
}

# require_port PROGRAM PORT: exits 64 unless PORT, already checked to be an integer, is 1-65535.
require_port() {
    if [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then
        echo "$1: --port must be 1-65535, not $2" >&2
        exit 64
    fi
}
