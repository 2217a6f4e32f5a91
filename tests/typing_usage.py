"""Typed usage of the public API, checked by mypy (pyproject's [tool.mypy] files), never collected
by pytest (it is not a test_*.py file), though it runs as a script.

Each `assert_type` fails the type check when the annotation of the API it exercises loses
precision (a Tensor method typed as returning Any or the base class, an optimizer step
typed wrongly, ...); at run time assert_type returns its argument and checks nothing.
"""

from __future__ import annotations

from typing import assert_type

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.tensor_base import TensorBase

x = cr.tensor([[1.0, 2.0]], requires_grad=True)
assert_type(x, cr.Tensor)
y = (x * 2).sum()
assert_type(y, cr.Tensor)
y.backward()
g: cr.Tensor | None = x.grad
assert_type(x.grad, cr.Tensor | None)

# operators, reflected operators and comparisons keep the tensor type
assert_type(2.0 * x - 1, cr.Tensor)
assert_type(x / x, cr.Tensor)
assert_type(1 / x, cr.Tensor)
assert_type(x**2, cr.Tensor)
assert_type(x @ x.T, cr.Tensor)
assert_type(-x, cr.Tensor)
assert_type(x > 0, cr.Tensor)
assert_type((x > 0) & (x < 2), cr.Tensor)
assert_type(x + np.ones(2), cr.Tensor)

# methods and front-door functions
assert_type(x.reshape(2, 1), cr.Tensor)
assert_type(x.sum(dim=1), cr.Tensor)
assert_type(x.mean(), cr.Tensor)
assert_type(x[0], cr.Tensor)
assert_type(x.detach(), cr.Tensor)
assert_type(x.data, cr.Tensor)
assert_type(x.split(1, dim=1), tuple[cr.Tensor, ...])
assert_type(cr.exp(x), cr.Tensor)
assert_type(cr.cat([x, x]), cr.Tensor)
assert_type(cr.stack([x, x], dim=0), cr.Tensor)
assert_type(cr.where(x > 1, x, 0.0), cr.Tensor)
assert_type(cr.maximum(x, 1.0), cr.Tensor)
assert_type(cr.softmax(x, dim=-1), cr.Tensor)
assert_type(cr.zeros(2, 3), cr.Tensor)
assert_type(cr.randn(2, 3), cr.Tensor)
for row in x:
    assert_type(row, cr.Tensor)
# given no tensor, a front-door function can only promise the base class
assert_type(cr.exp(2.0), TensorBase)

# layers, losses, optimizers
model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
linear = nn.Linear(2, 3)
h = linear(x).relu()
assert_type(h, cr.Tensor)
loss = nn.MSELoss()(h, cr.zeros(1, 3))
assert_type(loss, cr.Tensor)
opt = optim.SGD(linear.parameters(), lr=0.1)
opt.zero_grad()
loss.backward()
opt.step()
adam = optim.Adam(model.parameters(), lr=1e-3)
adam.step()

# autograd.grad: no None without allow_unused
w = cr.tensor(3.0, requires_grad=True)
(dw,) = cr.autograd.grad(w**3, [w], create_graph=True)
assert_type(dw, cr.Tensor)
(ddw,) = cr.autograd.grad(dw * 1.0, w)
assert_type(cr.autograd.grad(w * 2, [w], allow_unused=True), tuple[cr.Tensor | None, ...])

# in-place methods return the tensor itself
with cr.no_grad():
    assert_type(w.add_(1.0), cr.Tensor)
    assert_type(w.mul_(2), cr.Tensor)


# a function decorated with no_grad keeps its signature
@cr.no_grad()
def scaled(t: cr.Tensor, k: float) -> cr.Tensor:
    return t * k


assert_type(scaled(x, 2.0), cr.Tensor)
assert_type(x.size(), tuple[int, ...])
assert_type(x.size(0), int)
