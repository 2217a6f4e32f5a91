"""What a training run builds from its configuration: the model, the loss function and the
optimizer, each chosen by name."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.nn import functional as F
from chainrule.nn.conv import CNN
from chainrule.nn.layers import MLP
from chainrule.nn.module import Module
from chainrule.optim import SGD, Adam, AdamW
from chainrule.tensor import Tensor
from chainrule.train.run_config import TrainConfig

MODELS = ("mlp", "cnn")
LOSSES = ("cross_entropy", "bce", "mse")
OPTIMIZERS = ("sgd", "adam", "adamw")


def build_model(config: TrainConfig) -> Module:
    # classes is the list of labels; a count (what callers set before the label mapping, e.g.
    # benchmarks/) still means 0..K-1.
    count = config.classes if isinstance(config.classes, int) else len(config.classes)
    out = 1 if config.loss == "bce" else count
    if config.model == "cnn":  # flat rows of square one-channel images (digits 8x8, MNIST 28x28)
        side = math.isqrt(config.features)
        if side * side != config.features:
            raise ValueError(
                f"--model cnn needs square images: {config.data} has {config.features} features "
                "per sample, not a square number of pixels"
            )
        return CNN((1, side, side), out)
    if config.model != "mlp":
        raise ValueError(f"unknown model {config.model!r}; choose from {MODELS}")
    return MLP([config.features, *config.hidden, out], activation=config.activation)


def loss_function(name: str, classes: int) -> Any:
    if name == "cross_entropy":
        return F.cross_entropy
    if name == "bce":
        return lambda out, y: F.binary_cross_entropy_with_logits(
            out.reshape(-1), y.to(out.dtype).reshape(-1)
        )
    if name == "mse":  # squared error between softmax outputs and one-hot targets
        eye = np.eye(classes, dtype=np.float32)
        return lambda out, y: F.mse_loss(F.softmax(out, -1), Tensor._make(eye[y._data]))
    raise ValueError(f"unknown loss {name!r}; choose from {LOSSES}")


def make_optimizer(config: TrainConfig, model: Module) -> Any:
    params = list(model.parameters())
    if config.optimizer == "sgd":
        return SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; choose from {OPTIMIZERS}")
