#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Train one dcf round of the Fashion-MNIST MLP with PyTorch, as an external command of dcf-agent.

The contract is the one of numpy_trainer.py, and this script reuses its options, environment variables
and site data selection. It reads DCF_GLOBAL_MODEL, evaluates it on the held-out examples and trains.
Then it saves the state_dict of nn.Sequential(Linear, ReLU, Linear, ...) to DCF_UPDATE_PATH with the
example count, and the metrics to DCF_METRICS_PATH.
"""
import json
import os

import torch
from safetensors.torch import load_file, save_file
from torch import nn

import numpy_trainer


def build_model(state):
    """Return nn.Sequential(Linear, ReLU, ..., Linear) sized from the weights in `state` and loaded from it."""
    modules = []
    layer_count = len(state) // 2
    for position in range(layer_count):
        out_features, in_features = state[f"{2 * position}.weight"].shape
        modules.append(nn.Linear(in_features, out_features))
        if position < layer_count - 1:
            modules.append(nn.ReLU())
    model = nn.Sequential(*modules)
    # strict=True raises if a name or shape differs, before any training.
    model.load_state_dict(state, strict=True)
    return model


def evaluate(model, features, labels, batch_size=256):
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(labels), batch_size):
            logits = model(features[start : start + batch_size])
            batch_labels = labels[start : start + batch_size]
            loss_sum += nn.functional.cross_entropy(logits, batch_labels, reduction="sum").item()
            correct += (logits.argmax(dim=1) == batch_labels).sum().item()
    return loss_sum / len(labels), correct / len(labels)


def train_epoch(model, optimizer, features, labels, batch_size, generator):
    order = torch.randperm(len(labels), generator=generator)
    loss_sum = 0.0
    for start in range(0, len(labels), batch_size):
        batch = order[start : start + batch_size]
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(features[batch]), labels[batch])
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(batch)
    return loss_sum / len(labels)


def main():
    arguments = numpy_trainer.parse_arguments()
    update_path = numpy_trainer.required_environment("DCF_UPDATE_PATH")
    metrics_path = numpy_trainer.required_environment("DCF_METRICS_PATH")
    state = load_file(numpy_trainer.required_environment("DCF_GLOBAL_MODEL"))
    model = build_model(state)
    train_x, train_y, held_out_x, held_out_y = (
        torch.from_numpy(array) for array in numpy_trainer.load_site_data(arguments)
    )

    metrics = {}
    if len(held_out_y) > 0:
        model.eval()
        eval_loss, eval_accuracy = evaluate(model, held_out_x, held_out_y)
        metrics.update(eval_loss=eval_loss, eval_accuracy=eval_accuracy, eval_examples=len(held_out_y))
        print(f"global model: held-out loss {eval_loss:.4f}, accuracy {eval_accuracy:.4f} on {len(held_out_y)}")

    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=arguments.learning_rate)
    generator = torch.Generator().manual_seed(arguments.seed * 1_000_003 + int(os.environ.get("DCF_ROUND", "0")))
    for epoch in range(arguments.epochs):
        train_loss = train_epoch(model, optimizer, train_x, train_y, arguments.batch_size, generator)
        print(f"epoch {epoch + 1}: mean training loss {train_loss:.4f} on {len(train_y)} examples")
    if arguments.epochs > 0:
        metrics["train_loss"] = train_loss
    metrics["num_examples"] = len(train_y)

    # Same names, shapes and dtype (float32) as the global model; save_file needs contiguous tensors.
    tensors = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(tensors, update_path, metadata={"dcf.num_examples": str(len(train_y))})
    with open(metrics_path, "w") as file:
        json.dump(metrics, file)


if __name__ == "__main__":
    main()
