#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Train one dcf round of the Fashion-MNIST MLP with NumPy, as an external command of dcf-agent.

dcf-agent sets DCF_GLOBAL_MODEL (the model to start from), DCF_UPDATE_PATH (where to save the trained
model) and DCF_METRICS_PATH (where to write metrics). The script evaluates the global model on the site's
held-out examples and trains on the rest. It saves the same tensors (0.weight [out, in], 0.bias,
2.weight, 2.bias, ..., float32) with the example count in the metadata, and writes the metrics file.

The network math (forward pass, SGD epoch, evaluation, IDX reading) comes from numpy_mlp.py, which is
looked up next to this file and in ../../scripts, dcf's place for it.
"""
import argparse
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "..", "scripts")]
try:
    import numpy_mlp
except ImportError:
    raise SystemExit("numpy_trainer.py: numpy_mlp.py not found; copy dcf's scripts/numpy_mlp.py next to this file")

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"


def option(name, default, kind=str):
    """Return the default of an option: the environment variable TRAINER_<NAME>, else `default`."""
    value = os.environ.get("TRAINER_" + name.upper().replace("-", "_"))
    return default if value is None else kind(value)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Every option can also be set by the environment variable TRAINER_<OPTION>, "
        "such as TRAINER_MAX_EXAMPLES=600; a command-line option overrides it.",
    )
    parser.add_argument("--data-dir", default=option("data-dir", DEFAULT_DATA_DIR),
                        help="directory of the Fashion-MNIST .gz files")
    parser.add_argument("--shard-index", type=int, default=option("shard-index", 0, int),
                        help="this site's shard of the training split, from 0")
    parser.add_argument("--shard-count", type=int, default=option("shard-count", 1, int),
                        help="number of equal shards the training split is cut into")
    parser.add_argument("--max-examples", type=int, default=option("max-examples", None, int),
                        help="use at most N examples of the shard (training plus held-out)")
    parser.add_argument("--held-out", type=float, default=option("held-out", 0.1, float),
                        help="fraction of the shard kept for evaluation, in [0, 1)")
    parser.add_argument("--epochs", type=int, default=option("epochs", 1, int), help="passes over the shard")
    parser.add_argument("--batch-size", type=int, default=option("batch-size", 32, int), help="examples per step")
    parser.add_argument("--learning-rate", type=float, default=option("learning-rate", 0.05, float),
                        help="SGD step size")
    parser.add_argument("--seed", type=int, default=option("seed", 0, int),
                        help="seed of the shard shuffle; every site of a federation uses the same one")
    return parser.parse_args(argv)


def required_environment(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"numpy_trainer.py: {name} is not set; run this script through dcf-agent")
    return value


def load_site_data(arguments):
    """Return (train_features, train_labels, held_out_features, held_out_labels) of this site's shard."""
    if not 0 <= arguments.shard_index < arguments.shard_count:
        raise SystemExit(f"shard index {arguments.shard_index} is outside 0..{arguments.shard_count - 1}")
    if not 0 <= arguments.held_out < 1:
        raise SystemExit(f"held-out fraction {arguments.held_out} is outside [0, 1)")
    features, labels = numpy_mlp.load(arguments.data_dir, "train")
    order = np.random.default_rng(arguments.seed).permutation(len(labels))
    count = len(labels)
    shard = order[count * arguments.shard_index // arguments.shard_count:
                  count * (arguments.shard_index + 1) // arguments.shard_count]
    if arguments.max_examples is not None:
        shard = shard[: arguments.max_examples]
    held_out_count = int(len(shard) * arguments.held_out)
    if arguments.held_out > 0:
        held_out_count = max(held_out_count, 1)
    if held_out_count >= len(shard):
        raise SystemExit(f"the shard has {len(shard)} examples, too few to hold out {arguments.held_out:.0%}")
    held_out, training = shard[:held_out_count], shard[held_out_count:]
    return features[training], labels[training], features[held_out], labels[held_out]


def read_layers(path):
    """Return the model as [(weight, bias), ...] from PyTorch nn.Sequential names 0.weight, 0.bias, 2.weight, ..."""
    tensors = load_file(path)
    layers = []
    for index in range(0, len(tensors), 2):
        weight_name, bias_name = f"{index}.weight", f"{index}.bias"
        if weight_name not in tensors or bias_name not in tensors:
            raise SystemExit(f"{path}: expected tensors {weight_name} and {bias_name}, found {sorted(tensors)}")
        # load_file returns read-only arrays; training updates them in place.
        layers.append((tensors[weight_name].copy(), tensors[bias_name].copy()))
    return layers


def main():
    arguments = parse_arguments()
    global_model = required_environment("DCF_GLOBAL_MODEL")
    update_path = required_environment("DCF_UPDATE_PATH")
    metrics_path = required_environment("DCF_METRICS_PATH")
    train_features, train_labels, held_out_features, held_out_labels = load_site_data(arguments)
    layers = read_layers(global_model)

    metrics = {}
    if len(held_out_labels) > 0:
        eval_loss, eval_accuracy = numpy_mlp.evaluate(layers, held_out_features, held_out_labels)
        metrics.update(eval_loss=eval_loss, eval_accuracy=eval_accuracy, eval_examples=len(held_out_labels))
        print(f"round {os.environ.get('DCF_ROUND')}: global model version {os.environ.get('DCF_MODEL_VERSION')} "
              f"has held-out loss {eval_loss:.4f}, accuracy {eval_accuracy:.4f} on {len(held_out_labels)} examples")

    rng = np.random.default_rng([arguments.seed, int(os.environ.get("DCF_ROUND", "0"))])
    for epoch in range(arguments.epochs):
        train_loss = numpy_mlp.train_epoch(layers, train_features, train_labels, arguments.batch_size,
                                           arguments.learning_rate, rng)
        print(f"epoch {epoch + 1}: mean training loss {train_loss:.4f} on {len(train_labels)} examples")
    if arguments.epochs > 0:
        metrics["train_loss"] = train_loss
    metrics["num_examples"] = len(train_labels)

    tensors = {}
    for position, (weight, bias) in enumerate(layers):
        tensors[f"{2 * position}.weight"] = weight
        tensors[f"{2 * position}.bias"] = bias
    save_file(tensors, update_path, metadata={"dcf.num_examples": str(len(train_labels))})
    with open(metrics_path, "w") as file:
        json.dump(metrics, file)


if __name__ == "__main__":
    main()
