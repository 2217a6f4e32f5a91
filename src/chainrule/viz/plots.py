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
            'plots need matplotlib: pip install -e ".[plot]" from the chainrule checkout (or '
            "pip install matplotlib)"
        ) from error
    return plt


def plot_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike) -> str:
    """Loss (left) and accuracy (right, when logged) per epoch, train and held-out split; the
    held-out split is called by its key's prefix ("test" for `chainrule train`, "val" for
    fit()'s default)."""
    plt = _pyplot()
    has_acc = any(k.endswith("accuracy") for k in history)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 5, 4))
    axes = np.atleast_1d(axes)
    epochs = history.get("epoch") or list(range(1, len(history["train_loss"]) + 1))
    for ax, metric in zip(axes, ["loss", "accuracy"], strict=False):
        for split in ("train", "test", "val"):
            key = f"{split}_{metric}"
            if key in history:
                ax.plot(epochs, history[key], label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def plot_decision_boundary(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    path: str | os.PathLike,
    resolution: int = 200,
    class_names: Sequence[Any] | None = None,
) -> str:
    """The class the model predicts over the plane, with the data points on top (2-D inputs).

    ``y`` holds class indices 0..K-1; ``class_names[i]`` labels class i in the legend."""
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
    y = np.asarray(y).astype(np.int64)
    n = max(int(y.max(initial=0)), int(labels.max(initial=0))) + 1
    if class_names is not None:
        n = max(n, len(class_names))
    names = list(class_names) if class_names is not None else list(range(n))
    # One colour per class index, the same in the regions and the points, so the legend
    # explains both.
    cmap = plt.get_cmap("viridis", n)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.contourf(
        gx, gy, labels.reshape(gx.shape), levels=np.arange(n + 1) - 0.5, alpha=0.3, cmap=cmap
    )
    for c in range(n):
        mask = y == c
        if mask.any():
            ax.scatter(
                x[mask, 0],
                x[mask, 1],
                color=cmap(c),
                s=8,
                edgecolors="k",
                linewidths=0.2,
                label=f"class {names[c]}",
            )
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    ax.legend(title="true class (points)\nregions: predicted", fontsize=8, loc="best")
    ax.set_title("decision boundary (test split)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def plot_confusion_matrix(
    counts: np.ndarray, path: str | os.PathLike, class_names: Sequence[Any] | None = None
) -> str:
    """A heat map of counts[true, predicted] with the numbers written in; ticks show
    ``class_names`` (default 0..K-1)."""
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
    names = [str(c) for c in class_names] if class_names is not None else None
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_title("confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
