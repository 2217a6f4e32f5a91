"""Seed 000, Exercise 1: the MLP f(x) = a2 * sigmoid(a1 * x) and its binary log-likelihood loss.

Q1  f: R -> R, x -> a2 sigma(a1 x), parameters a1, a2 (no bias).
Q2  NLL(x, y) = -y log sigma(f) - (1 - y) log(1 - sigma(f)) = -y f + log(1 + e^f).
Q3  dL/do = -y + e^o / (1 + e^o) = sigmoid(o) - y;  dL/da2 = dL/do * sigma(a1 x);
    dL/da1 = dL/do * a2 sigma(a1 x)(1 - sigma(a1 x)) x.
Run: python examples/seed000_ex1_derivative.py [--out DIR]
     (drawings go to DIR; default: a new temporary folder, printed)
"""

import math

from _show import drawing, ledger, output_folder, symbolic

import chainrule as cr
from chainrule.nn import functional as F

output_folder()  # read --out DIR first, so that --help and a bad argument answer at once

x_value, y_value = 1.5, 1.0
a1 = cr.tensor(0.8, dtype=cr.float64, requires_grad=True)
a2 = cr.tensor(-0.6, dtype=cr.float64, requires_grad=True)
a1.name, a2.name = "a1", "a2"
x, y = cr.tensor(x_value, dtype=cr.float64), cr.tensor(y_value, dtype=cr.float64)

# Q1: the network (recorded, so the ledger and drawing can show every value)
with cr.viz.record():
    z = cr.sigmoid(a1 * x)
    f = a2 * z
f.retain_grad()

# Q2: the loss, two ways: the textbook NLL and the simplified -y f + log(1 + e^f)
p = cr.sigmoid(f)
nll = -(y * cr.log(p) + (1 - y) * cr.log(1 - p))
simplified = -y * f + cr.log(1 + cr.exp(f))
with cr.viz.record():
    fused = F.binary_cross_entropy_with_logits(f, y)  # the stable fused primitive
assert math.isclose(nll.item(), simplified.item(), rel_tol=1e-12)
assert math.isclose(fused.item(), simplified.item(), rel_tol=1e-12)
print(f"Q2  NLL = {nll.item():.6f} = -y f + log(1 + e^f) = {simplified.item():.6f}")

# Q3: the gradients by backprop (first shown node by node), against the closed forms
ledger(fused, f=f)
drawing(fused, "seed000_ex1")
fused.backward()
o, s = f.item(), z.item()
dL_do = -y_value + math.exp(o) / (1 + math.exp(o))
assert math.isclose(f.grad.item(), dL_do, rel_tol=1e-12)
assert math.isclose(a2.grad.item(), dL_do * s, rel_tol=1e-12)
assert math.isclose(a1.grad.item(), dL_do * a2.item() * s * (1 - s) * x_value, rel_tol=1e-12)
print(f"Q3  dL/do  = sigmoid(o) - y          = {dL_do:.6f}")
print(f"    dL/da2 = dL/do * sigma(a1 x)       = {a2.grad.item():.6f}")
print(f"    dL/da1 = dL/do * a2 s(1 - s) x     = {a1.grad.item():.6f}")

# the same results in closed form, from chainrule's own rules run on SymPy symbols
nll_form = symbolic("-y*log(sigmoid(f)) - (1 - y)*log(1 - sigmoid(f))", wrt="f", expand=True)
if nll_form is not None:
    import sympy

    o_sym, y_sym = sympy.symbols("f y", real=True)
    assert sympy.simplify(nll_form.partials["f"] - (-y_sym + 1 / (1 + sympy.exp(-o_sym)))) == 0
    symbolic("a2*sigmoid(a1*x)", wrt="a1,a2")
