# SPDX-License-Identifier: Apache-2.0
"""Runs several Flower clients in one process, one thread each, with the legacy start_client API.
Training is trivial: each client returns the received parameters plus 0.001."""
import argparse
import os
import threading

import flwr as fl


class TrivialClient(fl.client.NumPyClient):
    def get_parameters(self, config):
        return []

    def fit(self, parameters, config):
        return [p + 0.001 for p in parameters], 1, {}

    def evaluate(self, parameters, config):
        return 0.0, 1, {}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True, help="clients in this process")
    parser.add_argument("--port", type=int, default=18700)
    parser.add_argument("--tls-dir", help="directory with the ca.pem that signed the server's certificate")
    args = parser.parse_args()
    root_certificates = None
    if args.tls_dir:
        with open(os.path.join(args.tls_dir, "ca.pem"), "rb") as ca:
            root_certificates = ca.read()
    threads = [
        threading.Thread(target=fl.client.start_client, kwargs={
            "server_address": f"127.0.0.1:{args.port}", "client": TrivialClient().to_client(),
            "grpc_max_message_length": 1 << 30, "max_retries": 30, "max_wait_time": 120,
            "root_certificates": root_certificates})
        for _ in range(args.count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
