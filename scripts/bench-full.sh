#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the benchmark matrix for dcf and, side by side, for Flower, then prints the dcf/Flower ratios and
# writes docs/benchmark-round-time.svg. Needs Python 3 with venv; installs flwr into a virtualenv.
set -eu

dir=${BENCH_DIR:-bench-full-run}
rounds=${BENCH_ROUNDS:-3}
venv=${FLOWER_VENV:-${TMPDIR:-/tmp}/dcf-bench-flower}
# Model sizes and worker counts that fit a 2-core, 24 GiB machine with 20,000 open files per process;
# docs/benchmarks.md lists the combinations left out and why.
dcf_scenarios=${DCF_SCENARIOS:-"10:1MB 10:1MB:plain 10:13MB 10:100MB 100:1MB 100:13MB 1000:1MB 1000:13MB"}
flower_scenarios=${FLOWER_SCENARIOS:-"10:1MB 10:13MB 10:100MB 100:1MB 100:13MB"}
# Flower runs gRPC over TLS with the certificates dcf uses, like the dcf rows; FLOWER_TLS=0 runs plain gRPC.
flower_tls=${FLOWER_TLS:-1}

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'flwr==1.42.*'
fi

scripts/bench.sh --scenarios "$dcf_scenarios" --rounds "$rounds" --dir "$dir"

for scenario in $flower_scenarios; do
    workers=${scenario%%:*}
    size=${scenario#*:}
    bytes=$(.build/release/dcf-loadgen init-model --bytes "$size" --out "$dir/flower-model.tmp" | awk '{ print $3 }')
    rm -f "$dir/flower-model.tmp"
    echo "flower: $workers clients, $size"
    tls_dir=""
    [ "$flower_tls" = 0 ] || tls_dir="$dir/tls"
    scripts/flower/run.sh "$venv/bin/python" "$workers" "$rounds" "$bytes" 18700 "$dir/flower-n$workers-$size.json" \
        "$dir/flower-n$workers-$size-logs" $tls_dir || echo "flower: $workers x $size did not complete" >&2
done

"$venv/bin/python" scripts/flower/compare.py "$dir" docs/benchmark-round-time.svg | tee "$dir/comparison.txt"
