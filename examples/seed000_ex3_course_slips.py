"""Seed 000, Exercise 3, Q2: the course's own written solution, typed in and checked.

The solution derives, for o = W2 z + b2 (o has M entries, z has Z):
  dL/dW2_{n,m} = sum_{l=1}^{Z} dL/do_l d(sum_{j=1}^{Z} W2_{l,j} z_j + b2_n)/dW2_{n,m}
  dL/db2_n     = sum_{l=1}^{Z} dL/do_l d(sum_{j=1}^{Z} W2_{l,j} z_j + b2_n)/db2_n
  dL/dz_m      = sum_{l=1}^{Z} dL/do_l W_{l,n}
It has two index slips: l runs over the entries of o, so its sum goes to M, not Z; and the last
line's W_{l,n} should be W2_{l,m} (n is not an index of that formula). Typed in entry by entry,
as written, cr.check.derivation finds both and says where; the corrected formulas hold.
Run: python examples/seed000_ex3_course_slips.py [--out DIR]
     (drawings go to DIR; default: a new temporary folder, printed)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from _show import drawing, output_folder

import chainrule as cr
from chainrule.nn import functional as F

N, Z, M = 4, 3, 5  # input size, hidden size, classes: Z < M, so a sum over l = 1..Z runs short
C = 1  # the index of the true class
N_LEFT = 0  # the text's W_{l,n} leaves n free: typed as it stands, n is one fixed index


def loss_given_z(W2: cr.Tensor, b2: cr.Tensor, z: cr.Tensor) -> cr.Tensor:
    """Q2's function: the loss of the top layer o = W2 z + b2, with z = ReLU(W1 x + b1) known."""
    return F.cross_entropy(F.linear(z, W2, b2), cr.tensor(C))


def grad_o(W2: np.ndarray, b2: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Q1's answer, which is right: dL/do_l = softmax(o)_l - 1[c = l]."""
    o = W2 @ z + b2
    e = np.exp(o - o.max())
    return e / e.sum() - np.eye(len(o))[C]


def course_formulas(
    W2: np.ndarray, b2: np.ndarray, z: np.ndarray, *, last: int, n_in_z: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Q2 entry by entry: every sum over l runs to `last` (the text: Z; right: M), and dL/dz_m
    reads W2[l, n_in_z] (the text's W_{l,n}) or, when None, W2[l, m] (right)."""
    g = grad_o(W2, b2, z)
    rows, cols = W2.shape  # M, Z
    grad_W2 = np.zeros((rows, cols))
    for n in range(rows):
        for m in range(cols):
            # d(sum_j W2_{l,j} z_j + b2_n)/dW2_{n,m} is z_m when l = n, else 0
            grad_W2[n, m] = sum(g[l] * (z[m] if l == n else 0.0) for l in range(last))
    grad_b2 = np.zeros(rows)
    for n in range(rows):
        grad_b2[n] = sum(g[l] * (1.0 if l == n else 0.0) for l in range(last))
    grad_z = np.zeros(cols)
    for m in range(cols):
        column = m if n_in_z is None else n_in_z
        grad_z[m] = sum(g[l] * W2[l, column] for l in range(last))
    return grad_W2, grad_b2, grad_z


def as_written(W2: np.ndarray, b2: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """The solution as printed: sums over l = 1..Z, and W_{l,n} in dL/dz_m."""
    return course_formulas(W2, b2, z, last=W2.shape[1], n_in_z=N_LEFT)


def bound_fixed(W2: np.ndarray, b2: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """The first slip mended (l = 1..M), the second (W_{l,n}) left in."""
    return course_formulas(W2, b2, z, last=W2.shape[0], n_in_z=N_LEFT)


def corrected(W2: np.ndarray, b2: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """Both slips mended: sums over l = 1..M and W2_{l,m}, i.e. grad_o z^T, grad_o, W2^T grad_o."""
    return course_formulas(W2, b2, z, last=W2.shape[0], n_in_z=None)


def the_point() -> dict[str, cr.Tensor]:
    """The seed's network at a fixed seed, and z = ReLU(W1 x + b1) at one input x."""
    cr.manual_seed(3)  # a seed where ReLU keeps two of the three hidden units
    model = cr.nn.MLP([N, Z, M]).double()  # Linear(N, Z), ReLU, Linear(Z, M)
    params = {name: p.detach() for name, p in model.named_parameters()}
    x = cr.tensor([0.5, -1.2, 0.3, 2.0], dtype=cr.float64)
    z = cr.relu(F.linear(x, params["0.weight"], params["0.bias"]))
    return {"W2": params["2.weight"], "b2": params["2.bias"], "z": z}


def check(my_grad: Callable[..., tuple[np.ndarray, ...]]) -> cr.check.Report:
    """cr.check.derivation of `my_grad` at the_point (given as NumPy arrays, so my_grad gets them
    as arrays), at random points and at hard cases."""
    point = {name: value.numpy() for name, value in the_point().items()}
    return cr.check.derivation(loss_given_z, my_grad, point)


if __name__ == "__main__":
    output_folder()  # read --out DIR first, so that --help and a bad argument answer at once
    point = the_point()
    for name, value in point.items():
        value.requires_grad_()
        value.name = name
    with cr.viz.record():
        loss = loss_given_z(point["W2"], point["b2"], point["z"])
    drawing(loss, "seed000_ex3_course_slips")
    print(f"N, Z, M = {N}, {Z}, {M}: o has M = {M} entries, z has Z = {Z}; class c = {C}\n")

    print("1. Q2 as the course writes it (sums over l = 1..Z, W_{l,n} in dL/dz_m):")
    written = check(as_written)
    print(written)
    assert not written.ok
    print(
        f"   -> rows {Z}..{M - 1} of grad_W2 and entries {Z}..{M - 1} of grad_b2 are 0: the sum "
        f"over l stops at Z = {Z} and never reaches o_{Z + 1}..o_{M}; every dL/dz_m is one "
        f"number: the column n = {N_LEFT} of W2 for all m.\n"
    )

    print("2. The sum over l mended (l = 1..M), W_{l,n} left in:")
    half = check(bound_fixed)
    print(half)
    assert not half.ok and half.hints.keys() == {"z"}
    print("   -> W2 and b2 now hold; z still reads the wrong column of W2.\n")

    print("3. Both mended (l = 1..M, W2_{l,m}): grad_W2 = grad_o z^T, grad_b2 = grad_o,")
    print("   grad_z = W2^T grad_o:")
    right = check(corrected)
    print(right)
    assert right.ok
