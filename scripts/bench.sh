#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Measures FedAvg rounds of dcf-serverd under dcf-loadgen on 127.0.0.1 and prints one line per scenario,
# with the round time also shown as a multiple of the server's cryptography floor.
set -eu
. "$(dirname "$0")/lib/options.sh"

usage() {
    cat <<USAGE
Usage: scripts/bench.sh [--scenarios "N:SIZE[:plain] ..."] [--rounds R] [--dir DIR] [--port PORT]

Each scenario starts a fresh dcf-serverd (FedAvg, --update-lim N, unsafe mode, TLS unless ":plain",
a 256 KiB receive buffer per connection as advised for hundreds of concurrent uploads)
and runs dcf-loadgen with N workers and a model of SIZE (1MB, 13MB, ...) for R rounds (default 3).
Results go to DIR (default bench-run): one JSON file per scenario and results.txt. The exit status is 1
when a scenario did not complete, 64 for an invalid option. dcf-serverd listens on 127.0.0.1:PORT, a port
from 1 to 65535 (default 18600).
Columns: median_s is a round's time from its first upload to the moment the last worker holds the new model;
interval_s is the time between two new models reaching every worker. Rounds overlap, since the first workers
to get a model upload again while the others still download it, so interval_s is the shorter. x_floor and
ix_floor show both as multiples of the floor_s the server's cryptography alone costs.
Default scenarios, about a minute in total on 2 cores: "10:1MB 10:1MB:plain 10:13MB 100:1MB 100:13MB".
Column by column: docs/benchmarks.md, "Reading the output".
BENCH_SERVER_ARGS adds options to every dcf-serverd run, split at spaces, for example
BENCH_SERVER_ARGS="--limits.max_concurrent_uploads=1000".
USAGE
}

scenarios="10:1MB 10:1MB:plain 10:13MB 100:1MB 100:13MB"
rounds=3
dir=bench-run
port=18600
per_process=500
while [ $# -gt 0 ]; do
    case "$1" in
    --scenarios) scenarios="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown option '$1'" >&2; usage >&2; exit 64 ;;
    esac
done
require_positive_integers bench rounds port
require_port bench "$port"

bin=.build/release
for program in dcf-serverd dcf-loadgen; do
    if [ ! -x "$bin/$program" ]; then
        echo "bench: $bin/$program is missing; run 'make release' first" >&2
        exit 69
    fi
done

mkdir -p "$dir"
server=""
failed=""
loadgen=""
cleanup() {
    if [ -n "$loadgen" ]; then
        # SIGTERM: the load generator stops its worker processes and writes the rounds measured so far.
        kill -TERM "$loadgen" 2>/dev/null || true
        wait "$loadgen" 2>/dev/null || true
        loadgen=""
    fi
    if [ -n "$server" ]; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
}
# HUP too: a closed terminal must not leave a server on the port.
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

[ -e "$dir/tls/ca.pem" ] || scripts/gen-certs.sh "$dir/tls" 127.0.0.1 localhost >"$dir/gen-certs.log" 2>&1

# Single-core throughput of the two primitives every byte of a round passes through, in bytes per second: the
# best of three 1-second runs. Other work on a shared host makes single runs come out low at times, and a low
# figure would lower the floor's throughput and flatter every x_floor.
speed_once() {
    openssl speed -seconds 1 -bytes 16384 -evp "$1" 2>/dev/null | awk -v name="$1" '
        tolower($1) == tolower(name) || tolower($1" "$2) ~ tolower(name) { value = $NF }
        END { sub(/k$/, "", value); printf "%.0f\n", value * 1000 }'
}
speed() {
    for _ in 1 2 3; do speed_once "$1"; done | sort -n | tail -1
}
aes=$(speed aes-128-gcm)
sha=$(speed sha256)
{
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo),"\
        "$(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "$(openssl version); AES-128-GCM $((aes / 1000000)) MB/s, SHA-256 $((sha / 1000000)) MB/s (one core, 16 KiB blocks, best of 3)"
    echo "$(swift --version 2>/dev/null | head -1)"
    printf '%-22s %8s %10s %10s %8s %11s %10s %12s %12s %8s %13s %14s\n' scenario rounds median_s floor_s x_floor \
        interval_s ix_floor peak_rss_MB peak_anon_MB errors server_cpu_s loadgen_cpu_s
} | tee "$dir/results.txt"

for scenario in $scenarios; do
    workers=${scenario%%:*}
    rest=${scenario#*:}
    size=${rest%%:*}
    transport=tls
    [ "$rest" = "$size" ] || transport=${rest#*:}
    name="n$workers-$size-$transport"
    run="$dir/$name"
    rm -rf "$run"
    mkdir -p "$run"
    "$bin/dcf-loadgen" init-model --bytes "$size" --out "$run/model.safetensors" >/dev/null
    bytes=$(stat -c %s "$run/model.safetensors")
    if [ "$transport" = plain ]; then
        set -- --plain-http
        url="http://127.0.0.1:$port"
        ca=""
    else
        set -- --tls-certificate "$dir/tls/server.pem" --tls-key "$dir/tls/server.key"
        url="https://127.0.0.1:$port"
        ca="--ca $dir/tls/ca.pem"
    fi
    # Every simulated worker connects from 127.0.0.1, so the per-address and per-network limits are as high as
    # max_connections.
    # shellcheck disable=SC2086 # BENCH_SERVER_ARGS is split into options on purpose.
    "$bin/dcf-serverd" run --listen "127.0.0.1:$port" "$@" --unsafe-mode --state-dir "$run/state" \
        --initial-model "$run/model.safetensors" --update-lim "$workers" --log-level warning \
        --limits.max_connections=$((workers + 1000)) \
        --limits.max_connections_per_address=$((workers + 1000)) \
        --limits.max_connections_per_network=$((workers + 1000)) \
        --limits.receive_buffer=256KiB ${BENCH_SERVER_ARGS:-} \
        >"$run/server.log" 2>&1 &
    server=$!
    sleep 1
    # The load generator's progress goes to standard error. On a terminal it is one line, rewritten in place
    # and erased at the end; elsewhere (make bench >out.txt 2>&1) its lines would fall between the rows of
    # the table, so they go to a file of the scenario.
    progress=/dev/stderr logs="$run/loadgen.txt and $run/server.log"
    [ -t 2 ] || { progress="$run/progress.txt"; logs="$run/loadgen.txt, $progress and $run/server.log"; }
    if ! kill -0 "$server" 2>/dev/null; then
        # For example a port in use. The server's log gives the reason, while the load generator would only
        # report that the process is gone.
        echo "bench: dcf-serverd of $name exited at start: $(tail -n 1 "$run/server.log")" >&2
        : >"$run/loadgen.txt"
        failed="$failed $name"
    else
        # In the background, so that a signal to this script is handled at once rather than after the scenario.
        # shellcheck disable=SC2086 # $ca is empty or two words.
        "$bin/dcf-loadgen" run --url "$url" $ca --workers "$workers" --rounds "$rounds" --server-pid "$server" \
            --workers-per-process "$per_process" --key-dir "$run/keys" --json "$run/result.json" \
            --label "dcf $name" >"$run/loadgen.txt" 2>"$progress" &
        loadgen=$!
        wait "$loadgen" || { echo "bench: $name did not complete; see $logs" >&2; failed="$failed $name"; }
        loadgen=""
    fi
    cleanup
    server=""
    # Update files take up to N x S of disk; the results do not need them.
    rm -rf "$run/state/spool" "$run/state/rounds"
    if grep -q "smaller receive buffer" "$run/server.log"; then
        echo "bench: $name ran with a smaller receive buffer than 256 KiB; see $run/server.log" \
            "(raise net.core.rmem_max to 262144 to match the published runs)" | tee -a "$dir/results.txt" >&2
    fi
    # The floor: the server encrypts every download and decrypts every upload (AES-128-GCM) and hashes every
    # upload (SHA-256), on one core.
    awk -v name="$name" -v n="$workers" -v s="$bytes" -v aes="$aes" -v sha="$sha" -v transport="$transport" '
        / seconds / { next }
        /^ *[0-9]+ +[0-9]+ +[0-9.]+ / {
            seconds[++count] = $3; server_cpu[count] = $5; loadgen_cpu[count] = $(NF - 2)
            if ($4 != "-") intervals[++interval_count] = $4
            if ($6 > rss) rss = $6; if ($7 > anon) anon = $7; errors += $NF
        }
        function median(v, count,    i, j, x) {
            for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
            return count ? (count % 2 ? v[(count + 1) / 2] : (v[count / 2] + v[count / 2 + 1]) / 2) : 0
        }
        END {
            if (count == 0) {  # the scenario failed, and its message is above
                printf "%-22s %8d %10s %10s %8s %11s %10s %12s %12s %8s %13s %14s\n", name, 0, "-", "-", "-", "-",
                    "-", "-", "-", "-", "-", "-"
                exit
            }
            round = median(seconds, count)
            floor = 2 * n * s / aes + n * s / sha
            tls = transport == "tls" && floor > 0
            ratio = tls ? sprintf("%.1f", round / floor) : "-"
            interval = interval_count ? sprintf("%.3f", median(intervals, interval_count)) : "-"
            interval_ratio = (tls && interval_count) ? sprintf("%.1f", interval / floor) : "-"
            printf "%-22s %8d %10.3f %10.3f %8s %11s %10s %12.1f %12.1f %8d %13.2f %14.2f\n", name, count, round, floor,
                ratio, interval, interval_ratio, rss, anon, errors, median(server_cpu, count), median(loadgen_cpu, count)
        }' "$run/loadgen.txt" | tee -a "$dir/results.txt"
done
if [ -n "$failed" ]; then
    echo "bench: did not complete:$failed" >&2
    exit 1
fi
