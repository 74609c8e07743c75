#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the benchmark matrix for dcf and, side by side, for Flower, then prints the dcf/Flower ratios and
# draws a chart of the round times. Needs a release build and Python 3 with venv; installs flwr into a
# virtualenv. scripts/bench-full.sh --help lists the settings, the scenarios left out and the running time.
set -eu

usage() {
    cat <<USAGE
Usage: [SETTING=VALUE ...] scripts/bench-full.sh

Runs scripts/bench.sh for the dcf scenarios, then Flower 1.42 (legacy gRPC server, over TLS with the same
certificates) for the Flower scenarios, both on 127.0.0.1, and prints one line per dcf scenario with the
dcf/Flower ratios of median round time and server peak memory. Needs 'make release' first, and python3
with venv (Debian: python3-venv); the first run installs flwr 1.42 from PyPI into a virtualenv. Flower
runs with FLWR_TELEMETRY_ENABLED=0 and FLWR_DISABLE_UPDATE_CHECK=1. The exit status is 1 when a scenario
did not complete.

Settings, from the environment:
  BENCH_DIR         results directory (default bench-full-run); the comparison is DIR/comparison.txt
  BENCH_ROUNDS      rounds per scenario (default 3)
  BENCH_PORT        port of dcf-serverd (default 18600)
  FLOWER_PORT       port of the Flower server (default 18700)
  BENCH_SVG         chart file (default DIR/benchmark-round-time.svg; set it to
                    docs/benchmark-round-time.svg to redraw the chart of docs/benchmarks.md)
  FLOWER_VENV       virtualenv for flwr (default \${TMPDIR:-/tmp}/dcf-bench-flower)
  DCF_SCENARIOS     default "$default_dcf"
  FLOWER_SCENARIOS  default "$default_flower"
  FLOWER_TLS        1 (default) for gRPC over TLS, 0 for plain gRPC
  FLOWER_TIMEOUT    seconds after which a Flower scenario is stopped (default 1800)

A scenario is WORKERS:SIZE, for dcf optionally with :plain for HTTP without TLS. A ratio is printed for
each scenario that both lists hold.

Left out of the defaults, on a 2-core machine with 24 GiB and 20,000 open files per process:
  10000:13MB   each simulated worker holds the downloaded model while it uploads: about 130 GB
  N:100MB with N >= 100
               the simulated workers alone would need about 20 GB, and Flower's server holds every
               result (8.4 GB at 100 x 13 MB)
  Flower at N >= 1000
               Flower's legacy gRPC server holds every client's result in memory until it aggregates
  10000:1MB    fits, but each round takes 1 to 2.5 minutes (5 to 8 minutes for 3 rounds); run it on its own:
               scripts/bench.sh --scenarios "10000:1MB" --rounds 2

Running time with the defaults: about 10 to 15 minutes on 2 cores, 1000:13MB alone 3 to 5 of them, plus
a minute or two for installing flwr the first time. 1000:13MB needs about 13 GB of free disk in DIR.
USAGE
}

default_dcf="10:1MB 10:1MB:plain 10:13MB 10:100MB 100:1MB 100:13MB 1000:1MB 1000:13MB"
default_flower="10:1MB 10:13MB 10:100MB 100:1MB 100:13MB"
case "${1:-}" in
"") ;;
-h | --help) usage; exit 0 ;;
*) echo "bench-full: unknown argument '$1'; settings come from the environment" >&2; usage >&2; exit 64 ;;
esac

dir=${BENCH_DIR:-bench-full-run}
rounds=${BENCH_ROUNDS:-3}
port=${BENCH_PORT:-18600}
flower_port=${FLOWER_PORT:-18700}
svg=${BENCH_SVG:-$dir/benchmark-round-time.svg}
venv=${FLOWER_VENV:-${TMPDIR:-/tmp}/dcf-bench-flower}
dcf_scenarios=${DCF_SCENARIOS:-$default_dcf}
flower_scenarios=${FLOWER_SCENARIOS:-$default_flower}
# Flower runs gRPC over TLS with the certificates dcf uses, like the dcf rows; FLOWER_TLS=0 runs plain gRPC.
flower_tls=${FLOWER_TLS:-1}

if [ ! -x .build/release/dcf-loadgen ]; then
    echo "bench-full: .build/release/dcf-loadgen is missing; run 'make release' first" >&2
    exit 69
fi

# A virtualenv whose flwr install failed or was interrupted is completed rather than used as it is.
if ! "$venv/bin/python" -c 'import flwr' 2>/dev/null; then
    echo "bench-full: installing flwr 1.42 into $venv" >&2
    if [ ! -x "$venv/bin/pip" ]; then
        # Without Debian's python3-venv, venv fails because ensurepip is missing, and leaves a virtualenv
        # without pip.
        python3 -m venv --clear "$venv" || {
            echo "bench-full: python3 -m venv failed; on Debian: apt-get install python3-venv" >&2
            exit 69
        }
    fi
    "$venv/bin/pip" install --quiet 'flwr==1.42.*'
fi

# A failed scenario leaves a row without figures; the others and the Flower runs go on.
status=0
scripts/bench.sh --scenarios "$dcf_scenarios" --rounds "$rounds" --dir "$dir" --port "$port" || status=1

for scenario in $flower_scenarios; do
    workers=${scenario%%:*}
    size=${scenario#*:}
    bytes=$(.build/release/dcf-loadgen init-model --bytes "$size" --out "$dir/flower-model.tmp" | awk '{ print $3 }')
    rm -f "$dir/flower-model.tmp"
    echo "flower: $workers clients, $size" >&2
    tls_dir=""
    [ "$flower_tls" = 0 ] || tls_dir="$dir/tls"
    # A result left from an earlier run in the same directory must not stand in for a failed one.
    rm -f "$dir/flower-n$workers-$size.json"
    scripts/flower/run.sh "$venv/bin/python" "$workers" "$rounds" "$bytes" "$flower_port" \
        "$dir/flower-n$workers-$size.json" "$dir/flower-n$workers-$size-logs" ${tls_dir:+"$tls_dir"} \
        || { echo "flower: $workers x $size did not complete; see $dir/flower-n$workers-$size-logs" >&2; status=1; }
done

echo
# shellcheck disable=SC2086 # one argument per scenario
"$venv/bin/python" scripts/flower/compare.py "$dir" "$svg" $dcf_scenarios | tee "$dir/comparison.txt"
echo "chart: $svg"
exit "$status"
