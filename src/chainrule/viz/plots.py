"""Training plots with matplotlib (an optional extra): curves, decision boundary, confusion matrix.

Every function writes a PNG and returns its path; without matplotlib they raise
PlottingUnavailable, whose message says how to install it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.creation import tensor
from chainrule.modes import no_grad


class PlottingUnavailable(ImportError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: works on machines without a display
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise PlottingUnavailable(
            "plots need matplotlib: pip install 'chainrule[plot]' (or pip install matplotlib)"
        ) from error
    return plt


def plot_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike) -> str:
    """Loss (left) and accuracy (right, when logged) per epoch, train and validation."""
    plt = _pyplot()
    has_acc = any(k.endswith("accuracy") for k in history)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 5, 4))
    axes = np.atleast_1d(axes)
    epochs = history.get("epoch") or list(range(1, len(history["train_loss"]) + 1))
    for ax, metric in zip(axes, ["loss", "accuracy"], strict=False):
        for split in ("train", "val"):
            key = f"{split}_{metric}"
            if key in history:
                ax.plot(epochs, history[key], label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_title("loss")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def plot_decision_boundary(
    model: Any, x: np.ndarray, y: np.ndarray, path: str | os.PathLike, resolution: int = 200
) -> str:
    """The class the model predicts over the plane, with the data points on top (2-D inputs)."""
    plt = _pyplot()
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: needs 2-D inputs, got shape {x.shape}")
    pad = 0.5
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(x.dtype)
    was_training = model.training
    model.eval()
    with no_grad():
        out = model(tensor(grid)).numpy()
    model.train(was_training)
    labels = out.argmax(axis=1) if out.ndim == 2 and out.shape[1] > 1 else (out.ravel() > 0)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(gx, gy, labels.reshape(gx.shape), alpha=0.3, cmap="viridis")
    ax.scatter(x[:, 0], x[:, 1], c=y, s=8, cmap="viridis", edgecolors="k", linewidths=0.2)
    ax.set_title("decision boundary")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def plot_confusion_matrix(counts: np.ndarray, path: str | os.PathLike) -> str:
    """A heat map of counts[true, predicted] with the numbers written in."""
    plt = _pyplot()
    n = counts.shape[0]
    fig, ax = plt.subplots(figsize=(1 + 0.5 * n, 1 + 0.5 * n))
    ax.imshow(counts, cmap="Blues")
    for i in range(n):
        for j in range(n):
            color = "white" if counts[i, j] > counts.max() / 2 else "black"
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=color, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_title("confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
