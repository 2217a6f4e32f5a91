"""The configuration of a training run and its resume rules: TrainConfig (saved as the run's
config.json), reading config.json back, and the checks that a resume keeps the run's settings."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chainrule.train.run_data import resolve_data


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as config.json so evaluate/predict can rebuild it."""

    data: str = "digits"
    model: str = "mlp"  # or "cnn": nn.CNN on square one-channel images (hidden is then unused)
    hidden: list[int] = field(default_factory=lambda: [64])
    activation: str = "relu"
    loss: str = "cross_entropy"
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    epochs: int = 30
    batch_size: int = 32
    seed: int = 0
    test_fraction: float = 0.2
    schedule: str = "none"
    out: str = "runs/train"
    plots: bool = True
    # The original labels, in sorted order: the model's class i is the label classes[i].
    classes: list[int] = field(default_factory=list)  # filled in from the data
    features: int = 0
    # One entry per resume that changed lr or epochs: {"after_epoch": n, "lr": [old, new], ...}.
    resumes: list[dict] = field(default_factory=list)


# Settings that define the model, the data or the optimizer's kind: a resume must keep them
# (the checkpoint's weights, optimizer state and data order only make sense with them).
FIXED_ON_RESUME = (
    "data",
    "model",
    "hidden",
    "activation",
    "loss",
    "optimizer",
    "momentum",
    "weight_decay",
    "batch_size",
    "seed",
    "test_fraction",
    "schedule",
)
# Settings a resume may change: train longer, or go on with another learning rate.
CHANGEABLE_ON_RESUME = ("epochs", "lr")


def read_config(path: str | os.PathLike) -> TrainConfig:
    """A run's config.json, refusing (with the key and the file) what TrainConfig cannot hold."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path.parent}: no config.json here; is this a `chainrule train` run?"
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(
            f"{path}: unknown setting {unknown[0]!r}"
            + (f" (and {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else "")
            + f"; known settings: {', '.join(sorted(known))}"
        )
    if isinstance(raw.get("classes"), int):  # run folders before the label mapping: 0..K-1
        raw["classes"] = list(range(raw["classes"]))
    return TrainConfig(**raw)


def locate_resume(resume: str | os.PathLike) -> tuple[Path, Path]:
    """(run folder, checkpoint file) of --resume, which names either."""
    given = Path(resume)
    checkpoint = given / "checkpoint.safetensors" if given.is_dir() else given
    if not checkpoint.is_file():
        raise FileNotFoundError(f"--resume {str(given)!r}: no checkpoint {str(checkpoint)!r}")
    return checkpoint.parent, checkpoint


def _same_folder(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _normalized(name: str, value: Any) -> Any:
    if name == "data":
        with contextlib.suppress(ValueError, OSError):
            return resolve_data(value)
    if name in ("lr", "momentum", "weight_decay", "test_fraction"):
        return float(value)
    return value


def resume_config(resume: str | os.PathLike, **given: Any) -> TrainConfig:
    """The config to resume a run with: the run's own config.json, with the settings ``given``
    (only those the user actually set) checked or applied. A setting in FIXED_ON_RESUME that
    differs refuses the resume, naming each such setting and both values; ``out`` must be the
    run's own folder."""
    folder, _ = locate_resume(resume)
    saved = read_config(folder / "config.json")
    out = given.pop("out", None)
    if out is not None and not _same_folder(out, folder):
        raise ValueError(
            f"--out {str(out)!r} with --resume: a resumed run continues in its own folder "
            f"{str(folder)!r}; drop --out (or copy the run folder first and resume the copy)"
        )
    unknown = sorted(set(given) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise TypeError(f"resume_config: unknown settings {unknown}")
    config = dataclasses.replace(saved, **given)
    config.out = str(folder)
    _check_resume(saved, config, folder)
    return config


def _check_resume(saved: TrainConfig, config: TrainConfig, folder: Path) -> None:
    differing = [
        f"{name} (the run has {getattr(saved, name)!r}, asked {getattr(config, name)!r})"
        for name in FIXED_ON_RESUME
        if _normalized(name, getattr(saved, name)) != _normalized(name, getattr(config, name))
    ]
    if differing:
        raise ValueError(
            f"cannot resume {str(folder)!r} with different settings: {'; '.join(differing)}. "
            f"Only {' and '.join(CHANGEABLE_ON_RESUME)} can change on resume; start a new run "
            "(another --out) for the others"
        )
