"""Seed 001, §1.2: the Jacobian of softmax with temperature beta.

y_j = exp(beta x_j) / sum_i exp(beta x_i);  dy_j/dx_i = beta p_i (delta_ij - p_j).
Run: python examples/seed001_1_2_softmax.py [--out DIR]
     (drawings go to DIR; default: a new temporary folder, printed)
"""

import numpy as np
from _show import drawing, ledger, output_folder, symbolic

import chainrule as cr

output_folder()  # read --out DIR first, so that --help and a bad argument answer at once

x = cr.tensor([0.3, -1.2, 2.0, 0.5], dtype=cr.float64)
for beta in (0.5, 1.0, 3.0):
    J = cr.autograd.functional.jacobian(lambda v, beta=beta: cr.softmax(v, -1, beta=beta), x)
    p = cr.softmax(x, -1, beta=beta).numpy()
    closed_form = beta * (np.diag(p) - np.outer(p, p))  # beta p_i (delta_ij - p_j)
    np.testing.assert_allclose(J.numpy(), closed_form, rtol=1e-12, atol=1e-15)
    print(
        f"beta = {beta}: the Jacobian equals beta p_i (delta_ij - p_j); row sums "
        f"{np.abs(J.numpy().sum(axis=1)).max():.1e} (softmax outputs always sum to 1)"
    )

# the ledger of one vector-Jacobian product through softmax with beta = 2
v = x.detach().requires_grad_()
v.name = "x"
with cr.viz.record():
    loss = (cr.softmax(v, -1, beta=2.0) * cr.tensor([1.0, 0.0, -1.0, 0.5], dtype=cr.float64)).sum()
ledger(loss)
drawing(loss, "seed001_1_2")
symbolic("softmax(beta*x)", wrt="x", shapes={"x": 3})  # beta p_i (delta_ij - p_j), entrywise
