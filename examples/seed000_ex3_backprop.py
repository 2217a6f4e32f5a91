"""Seed 000, Exercise 3: backpropagation through f(x) = W2 ReLU(W1 x + b1) + b2 with softmax
cross-entropy.

Q1  grad_o L = softmax(o) - onehot(c)
Q2  grad_W2 L = grad_o L z^T,  grad_b2 L = grad_o L,  with z = ReLU(W1 x + b1)
Q3  grad_W1 L = ((W2^T grad_o L) * 1[h >= 0]) x^T,  grad_b1 L = (W2^T grad_o L) * 1[h >= 0]
Q4  one step of gradient descent: W^{t+1} = W^t - lr grad_W L (same for every W and b)
Q5  the network as nodes with attributes, forward and backward functions
Run: python examples/seed000_ex3_backprop.py [--out DIR]
     (drawings go to DIR; default: a new temporary folder, printed)
"""

import numpy as np
from _show import drawing, ledger, output_folder

import chainrule as cr
from chainrule.nn import functional as F

output_folder()  # read --out DIR first, so that --help and a bad argument answer at once

N, Z, M = 4, 5, 3  # input size, hidden size, classes
cr.manual_seed(0)
model = cr.nn.MLP([N, Z, M]).double()  # Linear(N, Z), ReLU, Linear(Z, M)
W1, b1, W2, b2 = model[0].weight, model[0].bias, model[2].weight, model[2].bias
x = cr.tensor([0.5, -1.2, 0.3, 2.0], dtype=cr.float64)
c = 2  # the index of the true class

with cr.viz.record():
    h = F.linear(x, W1, b1)
    z = cr.relu(h)
    o = F.linear(z, W2, b2)
    loss = F.cross_entropy(o, cr.tensor(c))
o.retain_grad()
ledger(loss, W1=W1, b1=b1, W2=W2, b2=b2, h=h, z=z, o=o)
drawing(loss, "seed000_ex3_graph")
loss.backward()

onehot = np.eye(M)[c]
grad_o = cr.softmax(o.detach(), -1).numpy() - onehot
np.testing.assert_allclose(o.grad.numpy(), grad_o, rtol=1e-12)  # Q1
np.testing.assert_allclose(W2.grad.numpy(), np.outer(grad_o, z.detach().numpy()), rtol=1e-12)
np.testing.assert_allclose(b2.grad.numpy(), grad_o, rtol=1e-12)  # Q2
delta = (W2.detach().numpy().T @ grad_o) * (h.detach().numpy() > 0)
np.testing.assert_allclose(W1.grad.numpy(), np.outer(delta, x.numpy()), rtol=1e-12)
np.testing.assert_allclose(b1.grad.numpy(), delta, rtol=1e-12)  # Q3
print("Q1  grad_o L  =", np.round(grad_o, 6), "= softmax(o) - onehot(c)")
print("Q2  grad_W2 L = grad_o z^T; grad_b2 L = grad_o")
print("Q3  grad_W1 L = ((W2^T grad_o) * 1[h > 0]) x^T; grad_b1 L = (W2^T grad_o) * 1[h > 0]")

# Q4: one step of gradient descent with SGD equals W - lr * grad for every parameter
lr = 0.1
before = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
cr.optim.SGD(model.parameters(), lr=lr).step()
for name, p in model.named_parameters():
    np.testing.assert_allclose(p.detach().numpy(), before[name] - lr * grads[name], rtol=1e-12)
with cr.no_grad():
    new_loss = F.cross_entropy(model(x), cr.tensor(c)).item()
assert new_loss < loss.item()
print(f"Q4  one step of gradient descent: loss {loss.item():.6f} -> {new_loss:.6f}")

# Q5: the network as nodes, each with its attributes, forward and backward functions
drawing(model, "seed000_ex3_network", input_shape=(N,))
