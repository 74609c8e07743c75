# SPDX-License-Identifier: Apache-2.0
"""Flower server for the dcf comparison: legacy start_server over gRPC on loopback, FedAvg with every
client in every round, no evaluation. Writes round times and its own peak resident memory as JSON."""
import argparse
import json
import os
import resource
import time

import flwr as fl
import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, required=True, help="number of clients per round")
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--bytes", type=int, required=True, help="model size in bytes (float32)")
    parser.add_argument("--port", type=int, default=18700)
    parser.add_argument("--json", required=True, help="file the results are written to")
    parser.add_argument("--tls-dir", help="directory with ca.pem, server.pem and server.key from gen-certs.sh; "
                        "without it the server speaks plain gRPC")
    args = parser.parse_args()

    # Same layout as dcf-loadgen init-model: float32 tensors of at most 1 Mi values, uniform in [-0.1, 0.1)
    # with every mantissa bit varying, as in trained weights.
    remaining = max(1, args.bytes // 4)
    arrays = []
    rng = np.random.default_rng(1)
    while remaining > 0:
        count = min(remaining, 1 << 20)
        arrays.append((rng.random(count, dtype=np.float32) * 0.2 - 0.1).astype(np.float32))
        remaining -= count

    times = {}

    class TimedFedAvg(fl.server.strategy.FedAvg):
        def configure_fit(self, server_round, parameters, client_manager):
            times.setdefault(server_round, {})["start"] = time.monotonic()
            return super().configure_fit(server_round, parameters, client_manager)

        def aggregate_fit(self, server_round, results, failures):
            aggregated = super().aggregate_fit(server_round, results, failures)
            times[server_round]["end"] = time.monotonic()
            times[server_round]["results"] = len(results)
            times[server_round]["failures"] = len(failures)
            return aggregated

    strategy = TimedFedAvg(
        fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=args.clients, min_evaluate_clients=0,
        min_available_clients=args.clients,
        initial_parameters=fl.common.ndarrays_to_parameters(arrays))
    certificates = None
    if args.tls_dir:
        certificates = tuple(
            open(os.path.join(args.tls_dir, name), "rb").read() for name in ("ca.pem", "server.pem", "server.key"))
    fl.server.start_server(
        server_address=f"127.0.0.1:{args.port}", config=fl.server.ServerConfig(num_rounds=args.rounds),
        strategy=strategy, grpc_max_message_length=1 << 30, certificates=certificates)
    rounds = [
        {"round": r, "seconds": t["end"] - t["start"], "results": t["results"], "failures": t["failures"]}
        for r, t in sorted(times.items()) if "end" in t
    ]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with open(args.json, "w") as out:
        json.dump({"label": "flower", "workers": args.clients, "tls": bool(args.tls_dir), "rounds": rounds, "server_vmhwm_bytes": peak,
                   "flwr_version": fl.__version__, "pid": os.getpid()}, out, indent=1)


if __name__ == "__main__":
    main()
