"""The course's exercises as presets of the two labs, each with its closed form.

Seed 000 (backpropagation and gradient descent): Ex1 (a one-unit network and its log-likelihood
loss), Ex2 (the computational graph of a3 σ(α a1 x + (1-α) a2 x)), Ex3 (the ReLU network with
softmax cross-entropy, as an expression and in the network lab). Seed 001 (homework 1):
§1.1 (the linear layer y = W x + b with upstream gradient g) and §1.2 (softmax with temperature
β). `closed` maps a variable to the closed form the seed derives, written in the expression
language, so the lab evaluates it beside autodiff's numbers; `check` prefills the derivative box.
"""

from __future__ import annotations

from typing import Any

EX2 = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"
EX2_U = "(alpha*a1*x + (1-alpha)*a2*x)"

PRESETS: list[dict[str, Any]] = [
    {
        "id": "000-ex1",
        "title": "Seed 000, Ex1: a one-unit network and its loss",
        "lab": "expression",
        "expr": "-y*(a2*sigmoid(a1*x)) + log(1 + exp(a2*sigmoid(a1*x)))",
        "at": "a1=0.5, a2=-1, x=1.5, y=1",
        "wrt": "a1, a2",
        "text": "f(x) = a2 σ(a1 x); L = -y f + log(1 + e^f).  dL/df = σ(f) - y, "
        "dL/da2 = (σ(f) - y) σ(a1 x), dL/da1 = (σ(f) - y) a2 σ'(a1 x) x.",
        "closed": {
            "a2": "(sigmoid(a2*sigmoid(a1*x)) - y)*sigmoid(a1*x)",
            "a1": "(sigmoid(a2*sigmoid(a1*x)) - y)*a2*sigmoid(a1*x)*(1 - sigmoid(a1*x))*x",
        },
        "check": {"wrt": "a2", "grad": "(sigmoid(a2*sigmoid(a1*x)) - y)*sigmoid(a1*x)"},
    },
    {
        "id": "000-ex2",
        "title": "Seed 000, Ex2: the computational graph of a3 σ(α a1 x + (1-α) a2 x)",
        "lab": "expression",
        "expr": EX2,
        "at": "a1=0.5, a2=-1, a3=2, alpha=0.25, x=1.5",
        "wrt": "a1, a2, a3",
        "text": "u = α a1 x + (1-α) a2 x; f = a3 σ(u).  df/da3 = σ(u), "
        "df/da1 = a3 σ(u)(1-σ(u)) α x, df/da2 = a3 σ(u)(1-σ(u)) (1-α) x.",
        "closed": {
            "a3": f"sigmoid{EX2_U}",
            "a1": f"a3*sigmoid{EX2_U}*(1 - sigmoid{EX2_U})*alpha*x",
            "a2": f"a3*sigmoid{EX2_U}*(1 - sigmoid{EX2_U})*(1-alpha)*x",
        },
        "check": {"wrt": "a1", "grad": f"a3*sigmoid{EX2_U}*(1 - sigmoid{EX2_U})*alpha*x"},
    },
    {
        "id": "000-ex3",
        "title": "Seed 000, Ex3: W2 ReLU(W1 x + b1) + b2 with softmax cross-entropy (class 1)",
        "lab": "expression",
        "expr": "-log_softmax(W2@relu(W1@x + b1) + b2)[1]",
        "at": "W1=[[1, -0.5], [0.3, 0.8]], x=[0.5, -1], b1=[0.1, 0.2], "
        "W2=[[0.7, -0.2], [0.4, 0.9]], b2=[0, 0.1]",
        "wrt": "W1, b1, W2, b2",
        "text": "o = W2 z + b2, z = ReLU(W1 x + b1).  dL/do = softmax(o) - onehot(c), "
        "dL/dW2 = (softmax(o) - y) zᵀ, dL/db2 = softmax(o) - y.",
        "closed": {
            "b2": "softmax(W2@relu(W1@x + b1) + b2) - eye(2)[1]",
            "W2": "outer(softmax(W2@relu(W1@x + b1) + b2) - eye(2)[1], relu(W1@x + b1))",
        },
        "check": {"wrt": "b2", "grad": "softmax(W2@relu(W1@x + b1) + b2) - eye(2)[1]"},
    },
    {
        "id": "000-ex3-network",
        "title": "Seed 000, Ex3 in the network lab: a ReLU MLP with softmax cross-entropy",
        "lab": "network",
        "config": {
            "dataset": "moons",
            "hidden": [8, 8],
            "activation": "relu",
            "loss": "cross_entropy",
            "optimizer": "momentum",
            "lr": 0.1,
            "batch": 32,
        },
        "text": "Each step (SGD with momentum 0.9): v ← 0.9 v + dL/dW, W ← W - lr · v, with "
        "dL/dW2 = (softmax(o) - y) zᵀ and "
        "dL/dW1 = ((W2ᵀ(softmax(o) - y)) ⊙ 1[W1 x + b1 > 0]) xᵀ, averaged over the batch.",
    },
    {
        "id": "001-1.1",
        "title": "Seed 001, §1.1: the linear layer y = W x + b",
        "lab": "expression",
        "expr": "sum(g*(W@x + b))",
        "at": "W=[[1, 2], [3, 4]], x=[0.5, -1], b=[0.1, 0.2], g=[1, -2]",
        "wrt": "W, b",
        "text": "g = dL/dy is given; L = Σ g ⊙ (W x + b) has exactly that upstream gradient.  "
        "dL/dW = g xᵀ (an outer product), dL/db = g.",
        "closed": {"W": "outer(g, x)", "b": "g"},
        "check": {"wrt": "W", "grad": "outer(g, x)"},
    },
    {
        "id": "001-1.2",
        "title": "Seed 001, §1.2: softmax with temperature β",
        "lab": "expression",
        "expr": "softmax(beta*x)[0]",
        "at": "beta=2, x=[0.1, 0.5, -0.3]",
        "wrt": "x",
        "text": "y_j = exp(β x_j) / Σ_i exp(β x_i).  dy_j/dx_i = β p_i (δ_ij - p_j); "
        "for j = 0: β p_0 (δ_0i - p_i).",
        "closed": {"x": "beta*softmax(beta*x)[0]*(eye(3)[0] - softmax(beta*x))"},
        "check": {"wrt": "x", "grad": "beta*softmax(beta*x)[0]*(eye(3)[0] - softmax(beta*x))"},
    },
]


def preset(preset_id: str) -> dict[str, Any]:
    for p in PRESETS:
        if p["id"] == preset_id:
            return p
    raise KeyError(preset_id)
