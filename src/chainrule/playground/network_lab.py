"""The network lab: a small MLP trained live on a 2-D data set, in a thread of its own.

A `Trainer` belongs to one session. Its thread runs optimizer steps while playing (at most
`MAX_STEPS_PER_SECOND`) and publishes a `snapshot()` about 33 times a second: the decision
boundary on a grid, the loss and accuracy curves, every weight and its last gradient. The
server's event stream only reads the latest snapshot, so training never blocks the event loop
and two sessions train side by side. `inspect()` explains one weight's last gradient with
`cr.explain` on the batch and the weights of that backward.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import data, optim
from chainrule.creation import tensor
from chainrule.modes import no_grad
from chainrule.nn import MLP
from chainrule.nn import functional as F
from chainrule.playground.limits import (
    MAX_LAYERS,
    MAX_POINTS,
    MAX_STEPS_PER_SECOND,
    MAX_WIDTH,
    PlaygroundError,
    choice,
    integer,
    number,
)
from chainrule.viz.format import format_value
from chainrule.viz.format import number as shown
from chainrule.viz.ledger import explain
from chainrule.viz.recording import record

DATASETS = ("moons", "circles", "spirals", "xor", "gaussians")
ACTIVATIONS = ("tanh", "relu", "sigmoid")
LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("adam", "sgd", "momentum")
GRID = 40  # the boundary is evaluated on GRID x GRID points
PUBLISH_EVERY = 0.03  # seconds between snapshots (about 33 a second)
HISTORY = 400  # points kept of each curve


@dataclass(frozen=True)
class Config:
    """A checked network-lab configuration (see `config`)."""

    dataset: str = "moons"
    points: int = 500
    noise: float = 0.1
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    lr: float = 0.03
    batch: int = 64
    seed: int = 0
    steps_per_second: int = 200


def config(body: dict[str, Any]) -> Config:
    """The page's settings, each checked with a message naming it (PlaygroundError)."""
    hidden = body.get("hidden", [8, 8])
    if isinstance(hidden, str):
        try:
            hidden = [int(h) for h in hidden.replace(" ", "").split(",") if h]
        except ValueError:
            raise PlaygroundError(f"hidden must be widths like 8,8, got {hidden!r}") from None
    if not isinstance(hidden, list) or not all(
        isinstance(h, int) and not isinstance(h, bool) for h in hidden
    ):
        raise PlaygroundError(f"hidden must be a list of widths like [8, 8], got {hidden!r}")
    if len(hidden) > MAX_LAYERS:
        raise PlaygroundError(f"hidden: {len(hidden)} layers; the limit is {MAX_LAYERS}")
    for i, h in enumerate(hidden):
        if not 1 <= h <= MAX_WIDTH:
            raise PlaygroundError(
                f"hidden: layer {i + 1} has width {h}; widths must be 1 to {MAX_WIDTH}"
            )
    lr = body.get("lr", 0.03)
    if isinstance(lr, int | float) and not isinstance(lr, bool) and lr <= 0:
        raise PlaygroundError(f"lr (the learning rate) must be positive, got {lr}")
    return Config(
        dataset=choice(body, "dataset", DATASETS, "moons"),
        points=integer(body, "points", 20, MAX_POINTS, 500),
        noise=number(body, "noise", 0.0, 1.0, 0.1),
        hidden=tuple(hidden),
        activation=choice(body, "activation", ACTIVATIONS, "tanh"),
        loss=choice(body, "loss", LOSSES, "cross_entropy"),
        optimizer=choice(body, "optimizer", OPTIMIZERS, "adam"),
        lr=number(body, "lr", 1e-6, 10.0, 0.03),
        batch=integer(body, "batch", 1, MAX_POINTS, 64),
        seed=integer(body, "seed", 0, 2**31 - 1, 0),
        steps_per_second=integer(body, "steps_per_second", 1, MAX_STEPS_PER_SECOND, 200),
    )


def _split(c: Config) -> data.Split:
    if c.dataset == "moons":
        return data.moons(c.points, noise=c.noise, seed=c.seed)
    if c.dataset == "circles":
        return data.circles(c.points, noise=c.noise, seed=c.seed)
    if c.dataset == "spirals":
        return data.spirals(c.points, noise=c.noise, seed=c.seed)
    if c.dataset == "xor":
        return data.xor(c.points, noise=c.noise, seed=c.seed)
    return data.gaussians(c.points, std=max(c.noise, 0.05) * 5, seed=c.seed)


class Trainer:
    """One session's network, data and training thread (play, pause, step, snapshot)."""

    def __init__(self, c: Config) -> None:
        self.config = c
        split = _split(c)
        self.x_train, self.y_train = split.x_train, split.y_train
        self.x_test, self.y_test = split.x_test, split.y_test
        self.classes = int(max(self.y_train.max(), self.y_test.max())) + 1
        self.sizes = [2, *c.hidden, self.classes]
        self.model = MLP(self.sizes, activation=c.activation)
        params = list(self.model.parameters())
        if c.optimizer == "adam":
            self.optimizer: optim.Optimizer = optim.Adam(params, lr=c.lr)
        else:
            momentum = 0.9 if c.optimizer == "momentum" else 0.0
            self.optimizer = optim.SGD(params, lr=c.lr, momentum=momentum)
        self.rng = np.random.default_rng(c.seed)
        lo = np.minimum(self.x_train.min(0), self.x_test.min(0)) - 0.5
        hi = np.maximum(self.x_train.max(0), self.x_test.max(0)) + 0.5
        self.extent = [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])]
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(hi[1], lo[1], GRID))
        self.grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(self.x_train.dtype)
        self.step_count = 0
        self.history: dict[str, list[float]] = {
            k: [] for k in ("step", "train_loss", "test_loss", "train_acc", "test_acc")
        }
        self.lock = threading.Lock()  # held by a step, a snapshot and an inspection
        self.playing = threading.Event()
        self.closed = threading.Event()
        self.last_batch: tuple[np.ndarray, np.ndarray] | None = None
        self.last_weights: list[np.ndarray] | None = None
        self.last_grads: list[np.ndarray] | None = None
        self.version = 0
        self._snapshot: dict[str, Any] = {}
        self._publish()
        self.thread = threading.Thread(target=self._run, name="chainrule-playground", daemon=True)
        self.thread.start()

    # -- training ------------------------------------------------------------------------------
    def _loss(self, logits: Any, y: np.ndarray) -> Any:
        if self.config.loss == "mse":
            target = np.eye(self.classes, dtype=self.x_train.dtype)[y]
            return F.mse_loss(F.softmax(logits, dim=1), tensor(target))
        return F.cross_entropy(logits, tensor(y))

    def step(self) -> None:
        """One optimizer step on a random batch (under the lock)."""
        with self.lock:
            n = len(self.x_train)
            idx = self.rng.choice(n, size=min(self.config.batch, n), replace=False)
            x, y = self.x_train[idx], self.y_train[idx]
            params = list(self.model.parameters())
            self.last_weights = [p._data.copy() for p in params]
            self.optimizer.zero_grad()
            loss = self._loss(self.model(tensor(x)), y)
            loss.backward()
            # every parameter is used, so every one has a gradient after backward
            self.last_grads = [
                np.zeros_like(p._data) if p.grad is None else np.array(p.grad._data) for p in params
            ]
            self.last_batch = (x, y)
            self.optimizer.step()
            self.step_count += 1

    def _run(self) -> None:
        next_publish = time.perf_counter()
        while not self.closed.is_set():
            if not self.playing.wait(0.1):
                continue
            started = time.perf_counter()
            try:
                with np.errstate(all="ignore"):
                    self.step()
            except Exception as error:  # a diverged run: stop and say so, keep the server up
                self.playing.clear()
                self._snapshot = {**self._snapshot, "error": f"training stopped: {error}"}
                continue
            now = time.perf_counter()
            if now >= next_publish:
                self._publish()
                next_publish = now + PUBLISH_EVERY
            pause = 1.0 / self.config.steps_per_second - (time.perf_counter() - started)
            if pause > 0:
                time.sleep(pause)

    def _measure(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        logits = self.model(tensor(x))
        loss = float(self._loss(logits, y).item())
        acc = float((logits._data.argmax(1) == y).mean())
        return loss, acc

    def _publish(self) -> None:
        """Measure and store the snapshot the event stream sends."""
        with self.lock, no_grad(), np.errstate(all="ignore"):
            train_loss, train_acc = self._measure(self.x_train, self.y_train)
            test_loss, test_acc = self._measure(self.x_test, self.y_test)
            probs = F.softmax(self.model(tensor(self.grid)), dim=1)._data
            h = self.history
            for k, v in zip(
                h, (self.step_count, train_loss, test_loss, train_acc, test_acc), strict=True
            ):
                h[k].append(v)
                del h[k][:-HISTORY]
            params = list(self.model.parameters())
            layers = []
            for i in range(0, len(params), 2):
                grad_w = None if self.last_grads is None else self.last_grads[i]
                grad_b = None if self.last_grads is None else self.last_grads[i + 1]
                layers.append(
                    {
                        "weight": np.round(params[i]._data, 5).tolist(),
                        "bias": np.round(params[i + 1]._data, 5).tolist(),
                        "grad_weight": None if grad_w is None else np.round(grad_w, 6).tolist(),
                        "grad_bias": None if grad_b is None else np.round(grad_b, 6).tolist(),
                    }
                )
            self.version += 1
            self._snapshot = {
                "version": self.version,
                "step": self.step_count,
                "playing": self.playing.is_set(),
                "train_loss": train_loss,
                "test_loss": test_loss,
                "train_acc": train_acc,
                "test_acc": test_acc,
                "history": {k: list(v) for k, v in h.items()},
                "grid": GRID,
                "classes": self.classes,
                # the most likely class and its probability, per grid point, row by row
                "boundary": probs.argmax(1).tolist(),
                "confidence": np.round(probs.max(1), 3).tolist(),
                "layers": layers,
                "sizes": self.sizes,
            }

    def snapshot(self) -> dict[str, Any]:
        return self._snapshot

    def points(self) -> dict[str, Any]:
        """The data set (sent once), and the extent of the boundary's grid."""
        return {
            "train": np.round(self.x_train, 4).tolist(),
            "train_y": self.y_train.tolist(),
            "test": np.round(self.x_test, 4).tolist(),
            "test_y": self.y_test.tolist(),
            "extent": self.extent,
            "classes": self.classes,
        }

    def control(self, action: str) -> dict[str, Any]:
        if action == "play":
            self.playing.set()
        elif action == "pause":
            self.playing.clear()
            self._publish()
        elif action == "step":
            self.playing.clear()
            with np.errstate(all="ignore"):
                self.step()
            self._publish()
        else:
            raise PlaygroundError(f"action must be play, pause or step, got {action!r}")
        return self.snapshot()

    def close(self) -> None:
        self.closed.set()
        self.playing.clear()

    # -- one weight's gradient, explained ------------------------------------------------------
    def inspect(self, layer: int, row: int, col: int | None) -> dict[str, Any]:
        """Weight (row, col) of linear layer `layer` (col None: bias[row]): its value, its last
        gradient, and the ledger rows that computed it (cr.explain of the last backward)."""
        n_layers = len(self.sizes) - 1
        if not 0 <= layer < n_layers:
            raise PlaygroundError(f"layer must be 0 to {n_layers - 1}, got {layer}")
        fan_out, fan_in = self.sizes[layer + 1], self.sizes[layer]
        if not 0 <= row < fan_out or (col is not None and not 0 <= col < fan_in):
            raise PlaygroundError(
                f"layer {layer} has a {fan_out}x{fan_in} weight; got row {row}, col {col}"
            )
        with self.lock:
            if self.last_batch is None or self.last_weights is None:
                raise PlaygroundError("no backward yet: press play or one step first")
            x, y = self.last_batch
            weights = [w.copy() for w in self.last_weights]
        # the same network, with the weights of the last backward, recorded for the ledger
        model = MLP(self.sizes, activation=self.config.activation)
        for p, w in zip(model.parameters(), weights, strict=True):
            p._data = w
        with record(), np.errstate(all="ignore"):
            loss = self._loss(model(tensor(x)), y)
        names = {
            f"W{i + 1}" if k % 2 == 0 else f"b{i + 1}": p
            for k, p in enumerate(model.parameters())
            for i in [k // 2]
        }
        ledger = explain(loss, names)
        name = f"W{layer + 1}" if col is not None else f"b{layer + 1}"
        index = (row, col) if col is not None else (row,)
        value = weights[2 * layer + (0 if col is not None else 1)][index]
        grad = ledger.gradients[name][index]
        rows = [r for r in ledger.rows if any(t.input == name for t in r.terms)]
        entry = f"{name}[{', '.join(map(str, index))}]"
        lines = []
        for r in rows:
            lines.append(f"step {r.step}: {r.output} = {r.call} ({r.words})")
            lines.append(f"  upstream dL/d{r.output}: {format_value(r.upstream)}")
            for t in r.terms:
                if t.input == name and t.gradient is not None:
                    sent = shown(np.asarray(t.gradient)[index])
                    lines.append(f"  dL/d{t.input} = [{t.formula}], so dL/d{entry} = {sent}")
        text = "\n".join(lines)
        return {
            "name": entry,
            "value": float(value),
            "grad": float(grad),
            "ledger": text,
            "ledger_markdown": ledger.markdown(),
        }
