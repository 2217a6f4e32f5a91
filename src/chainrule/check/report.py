"""The verdict of `cr.check.derivation`: each point's result and the report that prints them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chainrule.viz.format import number


@dataclass
class Mismatch:
    wrt: str
    index: tuple[int, ...]
    claimed: float
    autodiff: float
    numerical: float


@dataclass
class PointResult:
    """One evaluation point: whether the hand gradient held there, and where it did not."""

    label: str
    values: dict[str, Any]
    ok: bool
    entries: int = 0
    max_error: float = 0.0
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: str | None = None
    hint: str | None = None
    fd_error: float = 0.0


class Report:
    """The verdict of `derivation`: `.ok`, the points (`.points`), and `str(report)`."""

    def __init__(self, wrt: list[str], points: list[PointResult], out_shape: tuple) -> None:
        self.wrt, self.points, self.out_shape = wrt, points, out_shape
        checked = [p for p in points if p.skipped is None]
        self.ok = bool(checked) and all(p.ok for p in checked)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def failures(self) -> list[PointResult]:
        return [p for p in self.points if p.skipped is None and not p.ok]

    def __str__(self) -> str:
        what = "gradient" if self.out_shape == () else f"Jacobian (output {self.out_shape})"
        lines = [f"derivation check of the {what} with respect to {', '.join(self.wrt)}:"]
        for p in self.points:
            if p.skipped is not None:
                lines.append(f"  {p.label:<22} {p.skipped}: skipped")
            elif p.ok:
                lines.append(f"  {p.label:<22} holds (max |error| {number(p.max_error, 2)})")
            else:
                lines.append(
                    f"  {p.label:<22} FAILS: {len(p.mismatches)} of {p.entries} entries differ"
                )
                for m in p.mismatches[:4]:
                    at = f"[{', '.join(map(str, m.index))}]" if m.index else ""
                    lines.append(
                        f"      d/d{m.wrt}{at}: yours {number(m.claimed, 6)}, autodiff "
                        f"{number(m.autodiff, 6)}, finite differences {number(m.numerical, 6)}"
                    )
                if len(p.mismatches) > 4:
                    lines.append(f"      ... and {len(p.mismatches) - 4} more")
                if p.hint:
                    lines.append(f"      hint: {p.hint}")
        n = len([p for p in self.points if p.skipped is None])
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

    def __repr__(self) -> str:
        return f"<Report ok={self.ok}: {len(self.points)} points>"
