"""Seed 001, §1.1 (warm-up): y = W x + b with W in R^{2x2}, x, b in R^2.

dL/dW = (dL/dy) x^T (an outer product) and dL/db = dL/dy, for any upstream gradient dL/dy.
Run: python examples/seed001_1_1_linear.py [--out DIR]
     (drawings go to DIR; default: a new temporary folder, printed)
"""

import numpy as np
from _show import drawing, ledger, output_folder, symbolic

import chainrule as cr

output_folder()  # read --out DIR first, so that --help and a bad argument answer at once

W = cr.tensor([[0.2, -0.5], [1.5, 0.3]], dtype=cr.float64, requires_grad=True)
b = cr.tensor([0.1, -0.2], dtype=cr.float64, requires_grad=True)
x = cr.tensor([2.0, -1.0], dtype=cr.float64)
dL_dy = np.array([0.7, -1.3])  # the error backpropagated to the output

with cr.viz.record():
    y = W @ x + b
    L = (y * cr.tensor(dL_dy)).sum()  # a loss whose gradient at y is exactly dL/dy
ledger(L, W=W, b=b, y=y)
drawing(L, "seed001_1_1")
y.backward(gradient=cr.tensor(dL_dy))  # backward computes the vector-Jacobian product

np.testing.assert_allclose(W.grad.numpy(), np.outer(dL_dy, x.numpy()), rtol=1e-12)
np.testing.assert_allclose(b.grad.numpy(), dL_dy, rtol=1e-12)
print("dL/dW = dL/dy x^T =\n", W.grad.numpy())
print("dL/db = dL/dy     =", b.grad.numpy())
symbolic("W@x + b", wrt="W,b", shapes={"W": (2, 2), "x": 2, "b": 2}, grad_output="g")
