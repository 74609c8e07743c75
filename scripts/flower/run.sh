#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one Flower scenario on 127.0.0.1: the server and N clients in processes of at most 25 clients.
# Usage: scripts/flower/run.sh PYTHON CLIENTS ROUNDS BYTES PORT JSON LOGDIR [TLSDIR]
# With TLSDIR (ca.pem, server.pem and server.key from scripts/gen-certs.sh) Flower runs gRPC over TLS.
# The server waits for every client without a time limit of its own, so a client process that dies would
# leave it waiting: it is stopped after FLOWER_TIMEOUT seconds (default 1800, like dcf-loadgen --timeout).
set -eu
python=$1 clients=$2 rounds=$3 bytes=$4 port=$5 json=$6 logs=$7 tls=${8:-}
set --
[ -z "$tls" ] || set -- --tls-dir "$tls"
here=$(dirname "$0")
# Flower reports telemetry and checks for updates unless told not to; the benchmark stays on loopback.
export FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1
mkdir -p "$logs"
timeout "${FLOWER_TIMEOUT:-1800}" "$python" "$here/server.py" --clients "$clients" --rounds "$rounds" \
    --bytes "$bytes" --port "$port" --json "$json" "$@" >"$logs/flower-server.log" 2>&1 &
server=$!
pids=""
remaining=$clients
index=0
while [ "$remaining" -gt 0 ]; do
    count=$((remaining < 25 ? remaining : 25))
    "$python" "$here/clients.py" --count "$count" --port "$port" "$@" >"$logs/flower-clients-$index.log" 2>&1 &
    pids="$pids $!"
    remaining=$((remaining - count))
    index=$((index + 1))
done
status=0
wait "$server" || status=$?
for pid in $pids; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
exit "$status"
