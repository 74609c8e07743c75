#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Kills dcf-serverd with SIGKILL at random moments while dcf-agents upload, restarts it on the same state
# directory, and checks after every restart that nothing the server acknowledged was lost.
set -eu
. "$(dirname "$0")/lib/options.sh"

usage() {
    cat <<USAGE
Usage: scripts/crash-test.sh [--cycles N] [--sites N] [--port PORT] [--dir DIR] [--bin DIR] [--seed N]

Starts dcf-serverd over TLS on 127.0.0.1 with update_lim equal to the number of sites, and one dcf-agent per
site whose training command returns the global model unchanged. Each cycle waits for the server to accept an
update, then for a random time of up to 1.5 s, sometimes adds a worker key through the admin API, kills the
server with SIGKILL and starts it again on the same state directory.
About one cycle in five also kills the restarted server during start-up. After each restart it checks:

  - the round the server recovered contains at least the updates the agents logged as accepted for it;
  - no version that a reply named as published is missing;
  - every site and every key added through the admin API is still in the registry;
  - the stored versions are consecutive and parse as safetensors, and history.jsonl has one record per
    version after the first, each with updates_used equal to the number of sites;
  - after the last restart, no temporary file of an interrupted write is left in the state directory.

At the end it waits for two more rounds (a round that lost an accepted update never closes), stops the agents,
kills and restarts the server once more and checks the state again. It prints one line per cycle and a summary,
and exits 1 on any loss, 64 on an invalid option, 69 when a binary is missing.

  --cycles N    kill and restart cycles, at least 1 (default 50)
  --sites N     agents, and the server's update_lim (default 4)
  --port PORT   server port on 127.0.0.1, 1-65535 (default 43443)
  --dir DIR     working directory for certificates, keys, state and logs (default crash-run); it is
                deleted first, so it must be new, empty or made by an earlier crash test
  --bin DIR     directory with dcf-serverd, dcf-agent and dcfctl (default .build/debug)
  --seed N      seed of the random kill times, to repeat a run (default: from the clock)
USAGE
}

cycles=50
sites=4
port=43443
dir=crash-run
bin=.build/debug
seed=$(($(date +%s) % 32768))
while [ $# -gt 0 ]; do
    case "$1" in
    --cycles) cycles="$2"; shift 2 ;;
    --sites) sites="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "crash-test: unknown option '$1'" >&2; usage >&2; exit 64 ;;
    esac
done
for value in "$cycles" "$sites" "$port" "$seed"; do
    case "$value" in
    '' | *[!0-9]*) echo "crash-test: '$value' is not a non-negative integer" >&2; exit 64 ;;
    esac
done
if [ "$sites" -lt 1 ]; then
    echo "crash-test: --sites must be at least 1" >&2
    exit 64
fi
# The final checks start from the version the last cycle saw, so at least one cycle must run.
if [ "$cycles" -lt 1 ]; then
    echo "crash-test: --cycles must be at least 1" >&2
    exit 64
fi
require_port crash-test "$port"
# The directory is deleted below. Only an empty one or one an earlier crash test made (it contains the marker
# file, or acknowledged.txt from before the marker) is used, so a typo such as --dir ~ cannot delete a home.
marker="$dir/.dcf-crash-test-run"
if [ -e "$dir" ] && { [ ! -d "$dir" ] || { [ -n "$(ls -A "$dir")" ] && [ ! -f "$marker" ] &&
    [ ! -f "$dir/acknowledged.txt" ]; }; }; then
    echo "crash-test: --dir $dir exists and was not made by scripts/crash-test.sh; the test deletes its" \
        "directory first, so name a new or empty one" >&2
    exit 64
fi
for program in dcf-serverd dcf-agent dcfctl; do
    if [ ! -x "$bin/$program" ]; then
        echo "crash-test: $bin/$program is missing; run 'swift build' (or 'make release' with --bin .build/release)" >&2
        exit 69
    fi
done
RANDOM=$seed

rm -rf "$dir"
mkdir -p "$dir/keys" "$dir/state" "$dir/logs" "$dir/work"
echo "made by scripts/crash-test.sh, which deletes this directory at its next run" >"$marker"
state="$dir/state"
server_pid=""
agent_pids=""
launches=0
failures=0
cleanup() {
    for pid in $agent_pids $server_pid; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in $agent_pids $server_pid; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "crash-test: LOSS: $*"
    failures=$((failures + 1))
}

scripts/gen-certs.sh "$dir/tls" 127.0.0.1 >"$dir/logs/gen-certs.log" 2>&1
: >"$dir/keys/workers.txt"
for site in $(seq 0 $((sites - 1))); do
    "$bin/dcf-agent" keygen --output "$dir/keys/site-$site" >/dev/null
    cat "$dir/keys/site-$site.pub" >>"$dir/keys/workers.txt"
    echo >>"$dir/keys/workers.txt"
done
printf 'ops:crash-test-%s\n' "$seed" >"$dir/keys/admin.credentials"
chmod 600 "$dir/keys/admin.credentials" # dcf-serverd warns about a secret that other users may read
"$bin/dcf-agent" init-model --layers 64,32,10 --seed 1 --output "$dir/initial.safetensors" >/dev/null

dcfctl() {
    "$bin/dcfctl" "$1" --server "https://127.0.0.1:$port" --ca-file "$dir/tls/ca.pem" \
        --credentials-file "$dir/keys/admin.credentials" "${@:2}"
}

# Starts the server in the background, logging to logs/serverd-N.log; sets server_pid and server_log.
launch_server() {
    launches=$((launches + 1))
    server_log="$dir/logs/serverd-$launches.log"
    # Made here, because the background shell may open it only after wait_listening first reads it.
    : >"$server_log"
    "$bin/dcf-serverd" --listen "127.0.0.1:$port" \
        --tls-certificate "$dir/tls/server.pem" --tls-key "$dir/tls/server.key" \
        --state-dir "$state" --worker-keys "$dir/keys/workers.txt" --initial-model "$dir/initial.safetensors" \
        --update-lim "$sites" --admin-credentials "$dir/keys/admin.credentials" 2>"$server_log" &
    server_pid=$!
}

# Waits up to 60 s for the server to listen.
wait_listening() {
    for _ in $(seq 600); do
        if grep -q "listening" "$server_log"; then return 0; fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "crash-test: dcf-serverd exited at start; see $server_log" >&2
            tail -n 5 "$server_log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "crash-test: dcf-serverd did not listen within 60 s; see $server_log" >&2
    exit 1
}

# Waits up to 60 s for the server to accept an update, so each cycle kills a server that workers use. The agents
# back off longer after each failed request, so without this wait later cycles would find them still waiting.
wait_for_upload() {
    for _ in $(seq 600); do
        if grep -q "accepted update" "$server_log"; then return 0; fi
        sleep 0.1
    done
    echo "crash-test: no update arrived within 60 s of the restart; killing the server anyway"
}

kill_server() {
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

# Prints one line per update an agent logged as accepted: SITE BASE_VERSION ROUND_FROM PUBLISHED_VERSION, where
# PUBLISHED_VERSION is the version that the reply names as closed by the update, or 0.
acknowledged_updates() {
    for site in $(seq 0 $((sites - 1))); do
        [ -f "$dir/logs/agent-$site.log" ] || continue
        awk -v site="$site" '/round done/ {
            base = ""; round = ""; published = 0
            if (match($0, / base_version=[0-9]+/)) base = substr($0, RSTART + 14, RLENGTH - 14)
            if (match($0, /round from version [0-9]+/)) round = substr($0, RSTART + 19, RLENGTH - 19)
            if (match($0, /now version [0-9]+/)) published = substr($0, RSTART + 12, RLENGTH - 12)
            print site, base, (round == "" ? base : round), published
        }' "$dir/logs/agent-$site.log"
    done
}

# Checks the round a restarted server recovered against the updates acknowledged before the kill ($1, a file
# written by acknowledged_updates).
check_recovered_round() {
    local acknowledged="$1" resumed recovered expected published
    resumed=$(sed -n 's/.*resuming at stored model version version=\([0-9]*\).*/\1/p' "$server_log" | head -n 1)
    [ -n "$resumed" ] || resumed=1
    recovered=$(sed -n "s/.*recovered the open round round_from=$resumed updates=\([0-9]*\).*/\1/p" "$server_log" | head -n 1)
    recovered=${recovered:-0}
    expected=$(awk -v round="$resumed" '$3 == round { print $1 }' "$acknowledged" | sort -u | wc -l)
    if [ "$recovered" -lt "$expected" ]; then
        fail "the server resumed the round from v$resumed with $recovered updates, but $expected were acknowledged"
    fi
    published=$(awk 'BEGIN { m = 0 } $4 > m { m = $4 } END { print m }' "$acknowledged")
    if [ "$published" -gt "$resumed" ]; then
        fail "a reply named v$published as published, but the server resumed at v$resumed"
    fi
    recovered_updates=$recovered
}

# Checks that every site is registered and every key in keys/admin-added.txt is listed.
check_registry() {
    local listing
    if ! listing=$(dcfctl list --json 2>&1); then
        fail "dcfctl list failed: $listing"
        return
    fi
    printf '%s' "$listing" | python3 -c '
import json, sys
entries = {e["public_key_str"]: e for e in json.load(sys.stdin)}
sites = [k for k in open(sys.argv[1]).read().split() if k]
added = [k for k in open(sys.argv[2]).read().split() if k]
for key in sites:
    if entries.get(key, {}).get("status") != "registered":
        print("site %s... is not registered: %s" % (key[:8], entries.get(key)))
for key in added:
    if entries.get(key, {}).get("source") != "admin":
        print("admin-added key %s... is missing: %s" % (key[:8], entries.get(key)))
' "$dir/keys/workers.txt" "$dir/keys/admin-added.txt" | while IFS= read -r problem; do
        echo "crash-test: LOSS: $problem"
        echo x >>"$dir/registry-failures"
    done
    if [ -s "$dir/registry-failures" ]; then
        failures=$((failures + $(wc -l <"$dir/registry-failures")))
        : >"$dir/registry-failures"
    fi
}

# Checks models/ and history.jsonl. With $1 = exact, the server is idle and every version needs its record;
# otherwise the newest version may still be waiting for its record.
check_state() {
    local problems
    problems=$(python3 - "$state" "$sites" "${1:-running}" <<'PYTHON'
import json, os, struct, sys

state, sites, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# Read first: the server writes a version before its record, so records never run ahead of the versions read next.
records = []
history = os.path.join(state, "history.jsonl")
if os.path.exists(history):
    with open(history, "rb") as file:
        for number, line in enumerate(file.read().split(b"\n"), 1):
            if line:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    print("history.jsonl line %d is not JSON" % number)
versions = sorted(int(name[1:-len(".safetensors")]) for name in os.listdir(os.path.join(state, "models"))
                  if name.startswith("v") and name.endswith(".safetensors"))
if versions != list(range(1, len(versions) + 1)):
    print("stored versions are not consecutive from 1: %s" % versions)
for version in versions:
    path = os.path.join(state, "models", "v%d.safetensors" % version)
    with open(path, "rb") as file:
        data = file.read()
    try:
        (size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + size])
        ends = [info["data_offsets"][1] for name, info in header.items() if name != "__metadata__"]
        if not ends or max(ends) != len(data) - 8 - size:
            raise ValueError("tensor data does not fill the file")
    except (ValueError, struct.error, KeyError, TypeError) as error:
        print("v%d does not parse as safetensors: %s" % (version, error))
recorded = [record.get("version") for record in records]
if len(set(recorded)) != len(recorded):
    print("history.jsonl has duplicate versions: %s" % recorded)
latest = versions[-1] if versions else 1
expected = list(range(2, latest + 1))
if recorded != expected and (mode == "exact" or recorded != expected[:-1]):
    print("history.jsonl has versions %s for stored versions up to v%d" % (recorded, latest))
for record in records:
    if record.get("updates_used") != sites or record.get("base_version") != record.get("version", 0) - 1:
        print("history record of v%s: base_version %s, updates_used %s" %
              (record.get("version"), record.get("base_version"), record.get("updates_used")))
if mode == "exact":
    # Start-up deletes the temporary files of interrupted writes, so none may remain after a restart.
    for folder in (state, os.path.join(state, "models")):
        leftovers = sorted(name for name in os.listdir(folder) if name.startswith("."))
        if leftovers:
            print("temporary files left in %s: %s" % (folder, " ".join(leftovers)))
print("latest %d" % latest)
PYTHON
)
    latest_version=$(printf '%s\n' "$problems" | sed -n 's/^latest //p')
    printf '%s\n' "$problems" | grep -v '^latest ' | while IFS= read -r problem; do
        [ -n "$problem" ] && echo "crash-test: LOSS: $problem"
    done
    failures=$((failures + $(printf '%s\n' "$problems" | grep -vc '^latest ' || true)))
}

: >"$dir/keys/admin-added.txt"
: >"$dir/registry-failures"
launch_server
wait_listening
trainer='cp "$DCF_GLOBAL_MODEL" "$DCF_UPDATE_PATH" && echo "{\"num_examples\": $((10 + SITE))}" >"$DCF_METRICS_PATH"'
for site in $(seq 0 $((sites - 1))); do
    SITE=$site "$bin/dcf-agent" run --server "https://127.0.0.1:$port" --ca-file "$dir/tls/ca.pem" \
        --key "$dir/keys/site-$site" --trainer command --command "$trainer" --work-dir "$dir/work/site-$site" \
        --agent.retry_delay=200ms --progress off 2>"$dir/logs/agent-$site.log" &
    agent_pids="$agent_pids $!"
done
echo "crash-test: seed $seed, $sites sites, $cycles cycles; logs in $dir/logs"

startup_kills=0
admin_adds=0
for cycle in $(seq 1 "$cycles"); do
    wait_for_upload
    # Uniform from 0 to 1.5 s after the first accepted update, in milliseconds.
    delay_ms=$((RANDOM % 1501))
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    moment="${delay_ms} ms after the first accepted update"
    if [ $((RANDOM % 4)) -eq 0 ]; then
        "$bin/dcf-agent" keygen --output "$dir/keys/admin-$cycle" >/dev/null
        if dcfctl add "$dir/keys/admin-$cycle.pub" >/dev/null 2>&1; then
            cat "$dir/keys/admin-$cycle.pub" >>"$dir/keys/admin-added.txt"
            echo >>"$dir/keys/admin-added.txt"
            admin_adds=$((admin_adds + 1))
            moment="$moment, right after an admin add"
        fi
    fi
    kill_server
    # Replies already in the agents' sockets are logged within moments; a later one is only left out of the check.
    sleep 0.2
    acknowledged_updates >"$dir/acknowledged.txt"
    if [ $((RANDOM % 5)) -eq 0 ]; then
        launch_server
        startup_ms=$((RANDOM % 300))
        sleep "0.$(printf '%03d' "$startup_ms")"
        kill_server
        startup_kills=$((startup_kills + 1))
        moment="$moment, then ${startup_ms} ms into start-up"
    fi
    launch_server
    wait_listening
    check_recovered_round "$dir/acknowledged.txt"
    check_registry
    check_state
    printf 'cycle %d/%d: killed %s; resumed at v%s with %s updates recovered; %d updates acknowledged so far; failures %d\n' \
        "$cycle" "$cycles" "$moment" "$(sed -n 's/.*resuming at stored model version version=\([0-9]*\).*/\1/p' "$server_log" | head -n 1)" \
        "$recovered_updates" "$(wc -l <"$dir/acknowledged.txt")" "$failures"
done

# A round that lost an acknowledged update never closes: every agent waits for the next version.
target=$((latest_version + 2))
reached=0
for _ in $(seq 1200); do
    if [ -f "$state/models/v$target.safetensors" ]; then reached=1; break; fi
    sleep 0.1
done
if [ "$reached" -eq 0 ]; then
    fail "no progress to v$target within 120 s after the last restart; the open round is missing an update"
fi
for pid in $agent_pids; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in $agent_pids; do wait "$pid" 2>/dev/null || true; done
agent_pids=""
kill_server
acknowledged_updates >"$dir/acknowledged.txt"
launch_server
wait_listening
check_recovered_round "$dir/acknowledged.txt"
check_registry
check_state exact
if grep -l "registering again" "$dir"/logs/agent-*.log >/dev/null 2>&1; then
    fail "an agent found its registration lost: $(grep -h "registering again" "$dir"/logs/agent-*.log | head -n 1)"
fi
kill_server
server_pid=""

echo "crash-test: summary: $cycles cycles, $launches server starts, $startup_kills kills during start-up," \
    "$admin_adds admin adds; reached v$latest_version with $(wc -l <"$dir/acknowledged.txt") acknowledged updates;" \
    "$failures failures"
if [ "$failures" -gt 0 ]; then
    echo "crash-test: FAILED; logs and state in $dir" >&2
    exit 1
fi
echo "crash-test: passed"
