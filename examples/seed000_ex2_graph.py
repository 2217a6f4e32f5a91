"""Seed 000, Exercise 2: the computational graph of f(x) = a3 sigma(alpha a1 x + (1 - alpha) a2 x).

Q1  The operations it needs and their partial derivatives:
    multiply  d(x y)/dx = y,  d(x y)/dy = x;   add  d(x + y)/dx = d(x + y)/dy = 1;
    power     d(x^y)/dx = y x^(y-1),  d(x^y)/dy = x^y ln x.
Q2  Draw the graph.
Run: python examples/seed000_ex2_graph.py [--out DIR]
     (drawings go to DIR; default: a new temporary folder, printed)
"""

import math

from _show import drawing, ledger, output_folder, symbolic

import chainrule as cr

output_folder()  # read --out DIR first, so that --help and a bad argument answer at once

d = cr.float64


def partials(fn, u, v):
    """(d fn/du, d fn/dv) at (u, v) by backprop."""
    a = cr.tensor(u, dtype=d, requires_grad=True)
    b = cr.tensor(v, dtype=d, requires_grad=True)
    fn(a, b).backward()
    return a.grad.item(), b.grad.item()


# Q1: each primitive's partials, checked against the seed's table
u, v = 1.7, 0.6
assert partials(lambda a, b: a * b, u, v) == (v, u)
assert partials(lambda a, b: a + b, u, v) == (1.0, 1.0)
dx, dy = partials(lambda a, b: a**b, u, v)
assert math.isclose(dx, v * u ** (v - 1), rel_tol=1e-12)
assert math.isclose(dy, u**v * math.log(u), rel_tol=1e-12)
print("Q1  multiply, add and power partials match the seed's table")

# Q2: the graph of f, and its gradients against the chain rule by hand
alpha, x_value = 0.3, 1.5
a1 = cr.tensor(0.5, dtype=d, requires_grad=True)
a2 = cr.tensor(-1.0, dtype=d, requires_grad=True)
a3 = cr.tensor(2.0, dtype=d, requires_grad=True)
a1.name, a2.name, a3.name = "a1", "a2", "a3"
x = cr.tensor(x_value, dtype=d)
x.name = "x"
with cr.viz.record():
    f = a3 * cr.sigmoid(alpha * a1 * x + (1 - alpha) * a2 * x)
ledger(f)  # read it like the seed: each row is one local derivative times the upstream one
f.backward()
u_value = alpha * 0.5 * x_value + (1 - alpha) * -1.0 * x_value
s = 1 / (1 + math.exp(-u_value))
assert math.isclose(a1.grad.item(), 2.0 * s * (1 - s) * alpha * x_value, rel_tol=1e-12)
assert math.isclose(a2.grad.item(), 2.0 * s * (1 - s) * (1 - alpha) * x_value, rel_tol=1e-12)
assert math.isclose(a3.grad.item(), s, rel_tol=1e-12)
print(
    f"Q2  f = {f.item():.6f};  df/da1 = {a1.grad.item():.6f}, df/da2 = {a2.grad.item():.6f}, "
    f"df/da3 = {a3.grad.item():.6f}"
)
drawing(f, "seed000_ex2")
symbolic("a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)", wrt="a1,a2,a3")
for expression, wrt in (("x*y", "x,y"), ("x + y", "x,y"), ("x**y", "x,y")):
    symbolic(expression, wrt=wrt)  # Q1's table, derived by the rule table itself
