#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""NumPy reference for dcf's built-in trainer: the same MLP, loss and SGD, timed the same way.

The network is Linear-ReLU-...-Linear with float32 parameters initialized uniformly in
[-1/sqrt(fan_in), 1/sqrt(fan_in)], trained with minibatch SGD on the mean softmax cross-entropy of
each batch, one fresh shuffle per epoch. It prints the same lines as dcf-train-bench.
OpenBLAS (the one NumPy links) reads its thread count from OPENBLAS_NUM_THREADS.
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np

DEFAULT_DIRECTORY = "/usr/share/datasets/fashion-mnist"


def read_idx(path, dimension_count):
    with gzip.open(path, "rb") as file:
        contents = file.read()
    magic = struct.unpack(">I", contents[:4])[0]
    if magic != 0x0800 | dimension_count:
        raise SystemExit(
            f"{path}: magic number {magic:#010x} is not an unsigned-byte IDX of {dimension_count} dimensions"
        )
    dimensions = struct.unpack(f">{dimension_count}I", contents[4 : 4 + 4 * dimension_count])
    data = np.frombuffer(contents, dtype=np.uint8, offset=4 + 4 * dimension_count)
    if data.size != int(np.prod(dimensions)):
        raise SystemExit(f"{path}: header states {dimensions} but the file has {data.size} data bytes")
    return data.reshape(dimensions)


def load(directory, prefix, max_examples=None):
    images = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), 3)
    labels = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"), 1)
    count = len(labels) if max_examples is None else min(max_examples, len(labels))
    features = images[:count].reshape(count, -1).astype(np.float32) / np.float32(255)
    return features, labels[:count].astype(np.int64)


def initialize(layer_sizes, rng):
    layers = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(np.float32)
        bias = rng.uniform(-bound, bound, size=fan_out).astype(np.float32)
        layers.append((weight, bias))
    return layers


def forward(layers, inputs):
    """Returns every layer's output (ReLU applied to all but the last), inputs first."""
    activations = [inputs]
    for index, (weight, bias) in enumerate(layers):
        output = activations[-1] @ weight.T + bias
        if index < len(layers) - 1:
            np.maximum(output, 0, out=output)
        activations.append(output)
    return activations


def softmax_cross_entropy(logits, labels):
    """Returns the summed loss, the softmax probabilities and the number of correct argmax predictions."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    sums = exponentials.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float((np.log(sums[:, 0]) - shifted[rows, labels]).sum())
    correct = int((logits.argmax(axis=1) == labels).sum())
    return loss, exponentials / sums, correct


def train_epoch(layers, features, labels, batch_size, learning_rate, rng):
    order = rng.permutation(len(labels))
    loss_sum = 0.0
    for start in range(0, len(labels), batch_size):
        batch = order[start : start + batch_size]
        activations = forward(layers, features[batch])
        loss, delta, _ = softmax_cross_entropy(activations[-1], labels[batch])
        loss_sum += loss
        delta[np.arange(len(batch)), labels[batch]] -= 1
        delta /= np.float32(len(batch))
        for index in range(len(layers) - 1, -1, -1):
            weight, bias = layers[index]
            weight_gradient = delta.T @ activations[index]
            bias_gradient = delta.sum(axis=0)
            if index > 0:
                delta = (delta @ weight) * (activations[index] > 0)
            weight -= np.float32(learning_rate) * weight_gradient
            bias -= np.float32(learning_rate) * bias_gradient
    return loss_sum / len(labels)


def evaluate(layers, features, labels, batch_size=256):
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        logits = forward(layers, features[start : start + batch_size])[-1]
        loss, _, batch_correct = softmax_cross_entropy(logits, labels[start : start + batch_size])
        loss_sum += loss
        correct += batch_correct
    return loss_sum / len(labels), correct / len(labels)


def evaluate_file(path, directory):
    """Evaluates a model saved as safetensors with PyTorch nn.Sequential names (0.weight, 0.bias, 2.weight, ...)."""
    from safetensors.numpy import load_file

    tensors = load_file(path)
    layers = []
    for index in range(0, len(tensors), 2):
        weight, bias = tensors[f"{index}.weight"], tensors[f"{index}.bias"]
        if weight.dtype != np.float32 or bias.dtype != np.float32:
            raise SystemExit(f"{path}: layer {index} is {weight.dtype}/{bias.dtype}, not float32")
        layers.append((weight, bias))
    print(f"{path}: " + ", ".join(f"{name} {list(value.shape)}" for name, value in tensors.items()))
    features, labels = load(directory, "t10k")
    loss, accuracy = evaluate(layers, features, labels)
    print(f"test: loss {loss:.4f}, accuracy {accuracy:.4f} on {len(labels)} images")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DIRECTORY, help="directory of the Fashion-MNIST .gz files")
    parser.add_argument("--layers", default="784,128,10", help="layer sizes, inputs first")
    parser.add_argument("--epochs", type=int, default=1, help="passes over the training split")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per SGD step")
    parser.add_argument("--learning-rate", type=float, default=0.05, help="SGD step size")
    parser.add_argument("--seed", type=int, default=1, help="seed of the initialization and the shuffles")
    parser.add_argument("--max-examples", type=int, help="train on the first N training images only")
    parser.add_argument("--evaluate", metavar="PATH",
                        help="only evaluate the model in the safetensors file PATH on the test split")
    arguments = parser.parse_args()
    if arguments.evaluate:
        evaluate_file(arguments.evaluate, arguments.data_dir)
        return

    load_start = time.perf_counter()
    train_features, train_labels = load(arguments.data_dir, "train", arguments.max_examples)
    test_features, test_labels = load(arguments.data_dir, "t10k")
    print(f"loaded {len(train_labels)} training and {len(test_labels)} test images in "
          f"{time.perf_counter() - load_start:.2f} s")
    layer_sizes = [int(size) for size in arguments.layers.split(",")]
    print(f"layers {layer_sizes}, batch size {arguments.batch_size}, learning rate {arguments.learning_rate}, "
          f"seed {arguments.seed}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"numpy {np.__version__}")
    for library in np.show_config(mode="dicts")["Build Dependencies"].values():
        if "openblas configuration" in library:
            print(f"{library['name']} {library['version']} {library['openblas configuration']}")
            break
    rng = np.random.default_rng(arguments.seed)
    layers = initialize(layer_sizes, rng)
    total_seconds = 0.0
    for epoch in range(arguments.epochs):
        start = time.perf_counter()
        mean_loss = train_epoch(layers, train_features, train_labels, arguments.batch_size,
                                arguments.learning_rate, rng)
        elapsed = time.perf_counter() - start
        total_seconds += elapsed
        print(f"epoch {epoch + 1}: {len(train_labels)} examples in {elapsed:.3f} s = "
              f"{len(train_labels) / elapsed:.0f} examples/s, mean loss {mean_loss:.4f}")
    evaluation_start = time.perf_counter()
    loss, accuracy = evaluate(layers, test_features, test_labels)
    examples = arguments.epochs * len(train_labels)
    print(f"training: {examples} examples in {total_seconds:.3f} s = {examples / total_seconds:.0f} examples/s")
    print(f"test: loss {loss:.4f}, accuracy {accuracy:.4f} on {len(test_labels)} images "
          f"(evaluated in {time.perf_counter() - evaluation_start:.3f} s)")


if __name__ == "__main__":
    main()
