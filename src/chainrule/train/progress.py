"""Progress reporting: a tqdm bar on a terminal when tqdm is installed, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Progress:
    """One bar (or nothing) per epoch, advanced per batch; `write` prints a line without
    breaking the bar."""

    def __init__(self, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._tqdm = None
        if enabled and hasattr(self.stream, "isatty") and self.stream.isatty():
            try:
                from tqdm.auto import tqdm

                self._tqdm = tqdm
            except ImportError:  # tqdm is optional: plain lines are enough
                self._tqdm = None
        self._bar: Any = None

    def start_epoch(self, epoch: int, epochs: int, batches: int) -> None:
        if self._tqdm is not None:
            self._bar = self._tqdm(
                total=batches, desc=f"epoch {epoch}/{epochs}", leave=False, file=self.stream
            )

    def advance(self, loss: float) -> None:
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.4f}")

    def end_epoch(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def write(self, line: str) -> None:
        if not self.enabled:
            return
        if self._tqdm is not None:
            self._tqdm.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)
