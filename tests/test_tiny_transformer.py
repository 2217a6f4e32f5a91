"""examples/tiny_transformer.py: the same model definition trains identically on chainrule and
on torch (float64, same initial weights, same batches), and a short run of the script learns."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import chainrule as cr

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
import tiny_transformer as tt  # noqa: E402


def test_loss_curve_matches_torch_over_50_steps() -> None:
    n, steps = 4, 50
    cr.manual_seed(1)
    ours = tt.TinyGPT(cr, n, d_model=16, nhead=2, layers=2).double()
    twin = tt.TinyGPT(torch, n, d_model=16, nhead=2, layers=2).double()
    state = ours.state_dict()
    assert list(state) == list(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in state.items()})
    c_losses = tt.train(cr, ours, steps, tt.batches(7, 16, n), lr=3e-3)
    t_losses = tt.train(torch, twin, steps, tt.batches(7, 16, n), lr=3e-3)
    assert c_losses[-1] < 0.8 * c_losses[0]  # the curve moves, so matching it means something
    np.testing.assert_allclose(c_losses, t_losses, rtol=1e-6)
    for name, p in twin.named_parameters():  # and the weights end where torch's do
        np.testing.assert_allclose(
            dict(ours.named_parameters())[name].detach().numpy(),
            p.detach().numpy(),
            rtol=1e-5,
            atol=1e-7,
            err_msg=name,
        )


def test_batches_hide_the_unpredictable_half() -> None:
    x, y = tt.batch(np.random.default_rng(0), 3, n=4, task="reverse")
    assert x.shape == y.shape == (3, 8)
    assert (x[:, 4] == tt.SEP).all() and (y[:, :4] == -100).all()
    np.testing.assert_array_equal(y[:, 4:], x[:, 3::-1])  # the digits, reversed
    x, y = tt.batch(np.random.default_rng(0), 3, n=4, task="sort")
    np.testing.assert_array_equal(y[:, 4:], np.sort(x[:, :4], axis=1))


def test_short_run_of_the_example_learns() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "tiny_transformer.py"), "--quick", "--digits", "4",
         "--batch-size", "32"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    match = re.search(r"loss ([\d.]+) -> ([\d.]+)", result.stdout)
    assert match, result.stdout
    first, last = map(float, match.groups())
    assert last < 0.5 * first, result.stdout
    assert "exact-match accuracy" in result.stdout
