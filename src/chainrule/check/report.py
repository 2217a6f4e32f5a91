"""The verdict of `cr.check.derivation`: each point's result and the report that prints them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chainrule.viz.format import number


@dataclass
class Mismatch:
    """One differing entry. `transposed`: the claim had the transposed shape, and `claimed` is
    its entry at the swapped index."""

    wrt: str
    index: tuple[int, ...]
    claimed: float
    autodiff: float
    numerical: float
    transposed: bool = False

    def line(self) -> str:
        at = f"[{', '.join(map(str, self.index))}]" if self.index else ""
        if self.transposed:
            swapped = ", ".join(map(str, self.index[::-1]))
            return (
                f"d/d{self.wrt}{at}: yours has it at [{swapped}] ({number(self.claimed, 6)}), "
                f"autodiff {number(self.autodiff, 6)}"
            )
        return (
            f"d/d{self.wrt}{at}: yours {number(self.claimed, 6)}, autodiff "
            f"{number(self.autodiff, 6)}, finite differences {number(self.numerical, 6)}"
        )


@dataclass
class PointResult:
    """One evaluation point: whether the hand gradient held there, and where it did not.
    `hints` maps each differing variable to the guessed mistake; `hint` is the first of them."""

    label: str
    values: dict[str, Any]
    ok: bool
    entries: int = 0
    max_error: float = 0.0
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: str | None = None
    hint: str | None = None
    fd_error: float = 0.0
    hints: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def differing(self, name: str) -> list[Mismatch]:
        return [m for m in self.mismatches if m.wrt == name]


@dataclass
class Summary:
    """One variable over the checked points: how many points it fails at, its worst point's count
    of differing entries, and the hint of the first failing point that has one."""

    name: str
    failing: int
    checked: int
    differ: int
    size: int
    hint: str | None

    def __str__(self) -> str:
        if self.failing == 0:
            return f"{self.name}: holds"
        text = f"{self.name}: differs in {self.differ} of {self.size} entries"
        text += f" (at {self.failing} of {self.checked} points)"
        return text + (f"; hint: {self.hint}" if self.hint else "")


class Report:
    """The verdict of `derivation`: `.ok`, the points (`.points`), `.summaries` (one per
    variable), `.hints` (variable -> guessed mistake), `str(report)` (short) and `.details()`."""

    def __init__(
        self, wrt: list[str], points: list[PointResult], out_shape: tuple, verbose: bool = False
    ) -> None:
        self.wrt, self.points, self.out_shape, self.verbose = wrt, points, out_shape, verbose
        checked = [p for p in points if p.skipped is None]
        self.ok = bool(checked) and all(p.ok for p in checked)
        self.summaries = [self._summary(name, checked) for name in wrt]
        self.hints = {s.name: s.hint for s in self.summaries if s.hint is not None}

    @staticmethod
    def _summary(name: str, checked: list[PointResult]) -> Summary:
        failing = [p for p in checked if p.differing(name)]
        worst = max(failing, key=lambda p: len(p.differing(name)), default=None)
        hint = next((p.hints[name] for p in failing if name in p.hints), None)
        sizes = [p.sizes.get(name, 0) for p in ([worst] if worst else checked)]
        size = sizes[0] if sizes else 0
        differ = len(worst.differing(name)) if worst else 0
        return Summary(name, len(failing), len(checked), differ, size, hint)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def failures(self) -> list[PointResult]:
        return [p for p in self.points if p.skipped is None and not p.ok]

    def __str__(self) -> str:
        return self._text(self.verbose)

    def details(self) -> str:
        """The full report: every point's differing entries (up to 4 per variable) and hints."""
        return self._text(True)

    def _text(self, verbose: bool) -> str:
        what = "gradient" if self.out_shape == () else f"Jacobian (output {self.out_shape})"
        lines = [f"derivation check of the {what} with respect to {', '.join(self.wrt)}:"]
        if not self.ok or len(self.wrt) > 1:  # one variable that holds: the verdict says it
            lines += [f"  {s}" for s in self.summaries]
        for p in self.points:
            if p.skipped is not None:
                lines.append(f"  {p.label:<22} {p.skipped}: skipped")
            elif p.ok:
                lines.append(f"  {p.label:<22} holds (max |error| {number(p.max_error, 2)})")
            else:
                lines.append(
                    f"  {p.label:<22} FAILS: {len(p.mismatches)} of {p.entries} entries differ"
                )
                lines += self._point_details(p, verbose)
        n = len([p for p in self.points if p.skipped is None])
        if not verbose and not self.ok and n:
            lines.append("  (report.details() lists every differing entry, with its hint)")
        skipped = len(self.points) - n
        where = f"; {skipped} skipped: not differentiable there" if skipped else ""
        if n == 0:
            lines.append(
                "verdict: NOT CHECKED: the function is differentiable at none of the points"
            )
        elif self.ok and skipped:
            lines.append(
                f"verdict: HOLDS at all {n} points where the function is differentiable{where}"
            )
        elif self.ok:
            lines.append(f"verdict: HOLDS at all {n} points")
        else:
            lines.append(f"verdict: DOES NOT HOLD ({len(self.failures)} of {n} points fail{where})")
        return "\n".join(lines)

    def _point_details(self, p: PointResult, verbose: bool) -> list[str]:
        if not verbose:  # one entry: of the variable a hint explains, else the first that differs
            named = [m for m in p.mismatches if m.wrt in p.hints] or p.mismatches
            # a transposed claim agrees on the diagonal: show an entry that moved
            moved = [m for m in named if not (m.transposed and m.index == m.index[::-1])]
            first = (moved or named)[:1]
            return [f"      {m.line()}" for m in first]
        lines = []
        for name in self.wrt:
            differing = p.differing(name)
            lines += [f"      {m.line()}" for m in differing[:4]]
            if len(differing) > 4:
                lines.append(f"      ... and {len(differing) - 4} more of {name}")
            if name in p.hints:
                lines.append(f"      hint for {name}: {p.hints[name]}")
        return lines
