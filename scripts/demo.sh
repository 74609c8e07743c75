#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the main job: a federation of dcf-agents learning Fashion-MNIST with FedAvg over TLS.
set -eu
. "$(dirname "$0")/lib/options.sh"

usage() {
    cat <<USAGE
Usage: scripts/demo.sh [--sites N] [--rounds N] [--shards iid|by-class] [--dir DIR] [--port PORT] [--epochs N]

Starts dcf-serverd in safe mode over TLS and N dcf-agents on 127.0.0.1, each training the built-in
784-128-10 MLP on its own shard of Fashion-MNIST, runs the given number of FedAvg rounds, prints one
line per round, stops everything and evaluates the final model on the 10,000-image test set.

  --sites N       number of agents (default 4)
  --rounds N      number of global model versions to produce (default 10)
  --shards MODE   iid: each site gets an equal random part of the training set;
                  by-class: each site sees only some of the 10 classes (default iid)
  --dir DIR       working directory for certificates, keys, state and logs (default demo-run); it is
                  deleted first, so it must be new, empty or made by an earlier demo
  --port PORT     server port on 127.0.0.1, 1-65535 (default 18443)
  --epochs N      local epochs per round (default 2)

Exits 64 on an invalid option, 69 when a binary is missing, 1 when the run fails.
USAGE
}

sites=4
rounds=10
shards=iid
dir=demo-run
port=18443
epochs=2
while [ $# -gt 0 ]; do
    case "$1" in
    --sites) sites="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --shards) shards="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo: unknown option '$1'" >&2; usage >&2; exit 64 ;;
    esac
done
case "$shards" in
iid | by-class) ;;
*) echo "demo: --shards must be iid or by-class, not '$shards'" >&2; exit 64 ;;
esac
require_positive_integers demo sites rounds epochs port
require_port demo "$port"
# The directory is deleted below. Only an empty one or one an earlier demo made (it contains the marker file,
# or keys/allowed-workers.txt from before the marker) is used, so a typo such as --dir ~ cannot delete a home.
marker="$dir/.dcf-demo-run"
if [ -e "$dir" ] && { [ ! -d "$dir" ] || { [ -n "$(ls -A "$dir")" ] && [ ! -f "$marker" ] &&
    [ ! -f "$dir/keys/allowed-workers.txt" ]; }; }; then
    echo "demo: --dir $dir exists and was not made by scripts/demo.sh; the demo deletes its directory first," \
        "so name a new or empty one" >&2
    exit 64
fi

bin=.build/release
for program in dcf-serverd dcf-agent; do
    if [ ! -x "$bin/$program" ]; then
        echo "demo: $bin/$program is missing; run 'make release' first" >&2
        exit 69
    fi
done

rm -rf "$dir"
mkdir -p "$dir/keys" "$dir/state" "$dir/logs"
echo "made by scripts/demo.sh, which deletes this directory at its next run" >"$marker"
pids=""
cleanup() {
    for pid in $pids; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $pids; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT INT TERM

# count N WORD: prints "1 WORD" or "N WORDs".
count() {
    if [ "$1" -eq 1 ]; then echo "1 $2"; else echo "$1 $2s"; fi
}

# Reports that dcf-serverd has exited, with the end of its log, and exits 1.
server_exited() {
    echo "demo: dcf-serverd exited early; see $dir/logs/serverd.log" >&2
    tail -n 5 "$dir/logs/serverd.log" >&2
    if grep -q "already in use" "$dir/logs/serverd.log"; then
        echo "demo: port $port is taken; run scripts/demo.sh --port N with a free port N" >&2
    fi
    exit 1
}

echo "demo: making a CA and a server certificate in $dir/tls"
scripts/gen-certs.sh "$dir/tls" 127.0.0.1 localhost >"$dir/logs/gen-certs.log" 2>&1

echo "demo: making $(count "$sites" "Ed25519 key"), one per site"
: >"$dir/keys/allowed-workers.txt"
site=0
while [ "$site" -lt "$sites" ]; do
    "$bin/dcf-agent" keygen --output "$dir/keys/site-$site" >/dev/null
    cat "$dir/keys/site-$site.pub" >>"$dir/keys/allowed-workers.txt"
    echo >>"$dir/keys/allowed-workers.txt"
    site=$((site + 1))
done

"$bin/dcf-agent" init-model --layers 784,128,10 --seed 1 --output "$dir/initial-model.safetensors" >/dev/null

# Every agent connects from 127.0.0.1, so the per-address and per-network connection limits must cover all of
# them.
"$bin/dcf-serverd" \
    --listen "127.0.0.1:$port" \
    --tls-certificate "$dir/tls/server.pem" --tls-key "$dir/tls/server.key" \
    --state-dir "$dir/state" --worker-keys "$dir/keys/allowed-workers.txt" \
    --initial-model "$dir/initial-model.safetensors" --update-lim "$sites" \
    --limits.max_connections_per_address="$((sites * 2 + 16))" \
    --limits.max_connections_per_network="$((sites * 2 + 16))" \
    2>"$dir/logs/serverd.log" &
server_pid=$!
pids="$pids $server_pid"

# The agents start only once the server listens, so a server that cannot start (a taken port) is reported
# before anything else.
waited=0
# "cannot start listening" must not count, hence the info level.
until grep -q " info [a-z.]*: listening " "$dir/logs/serverd.log" 2>/dev/null; do
    kill -0 "$server_pid" 2>/dev/null || server_exited
    waited=$((waited + 1))
    if [ "$waited" -gt 600 ]; then
        echo "demo: dcf-serverd did not start listening within 60 seconds; see $dir/logs/serverd.log" >&2
        exit 1
    fi
    sleep 0.1
done

site=0
while [ "$site" -lt "$sites" ]; do
    if [ "$shards" = iid ]; then
        shard_option="--shard $site/$sites"
    else
        shard_option="--classes $(python3 -c "print(','.join(str(c) for c in range(10) if c % $sites == $site))")"
    fi
    # shellcheck disable=SC2086
    "$bin/dcf-agent" run \
        --server "https://127.0.0.1:$port" --ca-file "$dir/tls/ca.pem" --key "$dir/keys/site-$site" \
        $shard_option --epochs "$epochs" --max-rounds "$rounds" --progress plain \
        2>"$dir/logs/agent-$site.log" &
    pids="$pids $!"
    running_agents="${running_agents:-} $!"
    site=$((site + 1))
done

echo "demo: server and $(count "$sites" agent) started; logs in $dir/logs"
echo "demo: accuracy and eval-loss are of the model each round started from, on the sites' test data"
printf '%-6s %-9s %-9s %-10s %-8s %s\n' round accuracy eval-loss train-loss updates seconds
history="$dir/state/history.jsonl"
printed=0
waited=0
while [ "$printed" -lt "$rounds" ]; do
    if [ -f "$history" ]; then
        count=$(wc -l <"$history")
        while [ "$printed" -lt "$count" ] && [ "$printed" -lt "$rounds" ]; do
            printed=$((printed + 1))
            sed -n "${printed}p" "$history" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
def f(v): return "-" if v is None else "%.4f" % v
print("%-6d %-9s %-9s %-10s %-8d %.2f" % (r["version"] - 1, f(r.get("evaluation_accuracy")), f(r.get("evaluation_loss")),
      f(r.get("training_loss")), r["updates_used"], r["round_seconds"]))'
        done
    fi
    kill -0 "$server_pid" 2>/dev/null || server_exited
    # Agents exit by themselves after their last round; only a non-zero status is a failure.
    still_running=""
    for pid in $running_agents; do
        if kill -0 "$pid" 2>/dev/null; then
            still_running="$still_running $pid"
        elif ! wait "$pid"; then
            echo "demo: an agent failed; see $dir/logs" >&2
            tail -n 5 "$dir"/logs/agent-*.log >&2
            exit 1
        fi
    done
    running_agents="$still_running"
    sleep 1
    waited=$((waited + 1))
    if [ "$waited" -gt 1800 ]; then
        echo "demo: no progress after 30 minutes; see $dir/logs" >&2
        exit 1
    fi
done

cleanup
pids=""
final="$dir/state/models/$(ls "$dir/state/models" | sort -t v -k 2 -n | tail -n 1)"
"$bin/dcf-agent" evaluate --model "$final"
echo "demo: final model: $final"
echo "demo: history:     $history"
echo "demo: chart:       $dir/state/history.svg"
