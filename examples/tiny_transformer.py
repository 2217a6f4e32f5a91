"""A tiny decoder-only transformer, trained from scratch to sort (or reverse) digit sequences.

The model is a PyTorch model definition: `TinyGPT(lib)` takes the library (`chainrule` or
`torch`) and uses only names the two share (nn.Embedding with learned positions,
nn.TransformerEncoderLayer with a causal mask as GPT's pre-norm blocks with a GELU MLP,
nn.LayerNorm, nn.Linear, F.cross_entropy, optim.AdamW, lr_scheduler.CosineAnnealingLR), so the
same lines train on either; tests/test_tiny_transformer.py holds the two loss curves together.

Each example is n random digits, a separator, then the same digits sorted (or reversed); the
loss is the cross-entropy of the answer half, predicted one token at a time. Accuracy is exact
match of greedy autoregressive decoding on held-out sequences.

Run: python examples/tiny_transformer.py [--steps N] [--quick] [--task sort|reverse] [--torch]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

# Matrices here are small (batch x 16 tokens x 48): BLAS threads cost more than they give,
# several times the step time on a busy machine. Set before NumPy loads its BLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import chainrule as cr

DIGITS, SEP = 10, 10  # tokens 0-9 are digits, 10 the separator
VOCAB = 11


def TinyGPT(lib: Any, n: int = 6, d_model: int = 48, nhead: int = 4, layers: int = 2) -> Any:
    """A GPT-style model of `lib` (chainrule or torch) for sequences of 2 n + 1 tokens."""
    nn = lib.nn

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(VOCAB, d_model)
            self.pos = nn.Embedding(2 * n + 1, d_model)
            block = nn.TransformerEncoderLayer(
                d_model, nhead, dim_feedforward=4 * d_model, dropout=0.0,
                activation="gelu", batch_first=True, norm_first=True,
            )  # fmt: skip
            self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, VOCAB)

        def forward(self, idx: Any) -> Any:
            t = idx.shape[1]
            x = self.tok(idx) + self.pos(lib.arange(t))
            future = lib.from_numpy(np.triu(np.ones((t, t), dtype=bool), 1))  # True: masked
            x = self.blocks(x, mask=future, is_causal=True)
            return self.head(self.norm(x))

    return Model()


def answer(digits: np.ndarray, task: str) -> np.ndarray:
    if task not in ("sort", "reverse"):
        raise ValueError(f"task must be 'sort' or 'reverse', got {task!r}")
    return np.sort(digits, axis=1) if task == "sort" else digits[:, ::-1]


def batch(
    rng: np.random.Generator, size: int, n: int = 6, task: str = "sort"
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (size, 2n) and targets (size, 2n): the next token, -100 (ignored) on the first
    half, whose digits are random and cannot be predicted."""
    digits = rng.integers(0, DIGITS, size=(size, n))
    seq = np.concatenate([digits, np.full((size, 1), SEP), answer(digits, task)], axis=1)
    targets = seq[:, 1:].copy()
    targets[:, :n] = -100
    return seq[:, :-1].astype(np.int64), targets.astype(np.int64)


def train(lib: Any, model: Any, steps: int, batches: Any, lr: float = 3e-3,
          log_every: int = 0) -> list[float]:  # fmt: skip
    """AdamW on a cosine schedule; the losses of each step."""
    F = lib.nn.functional
    opt = lib.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    losses = []
    for step in range(steps):
        x, y = next(batches)
        logits = model(lib.from_numpy(x))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), lib.from_numpy(y).reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
        if log_every and (step % log_every == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {losses[-1]:.4f}  lr {schedule.get_last_lr()[0]:.2e}")
    return losses


def exact_match(lib: Any, model: Any, digits: np.ndarray, task: str = "sort") -> float:
    """The share of sequences whose n answer digits greedy decoding gets all right."""
    n = digits.shape[1]
    seq = np.concatenate([digits, np.full((len(digits), 1), SEP)], axis=1).astype(np.int64)
    model.eval()
    with lib.no_grad():
        for _ in range(n):
            logits = model(lib.from_numpy(seq))
            nxt = np.asarray(logits[:, -1].numpy()).argmax(-1)
            seq = np.concatenate([seq, nxt[:, None]], axis=1).astype(np.int64)
    model.train()
    return float((seq[:, n + 1 :] == answer(digits, task)).all(axis=1).mean())


def batches(seed: int, size: int, n: int, task: str = "sort") -> Any:
    rng = np.random.default_rng(seed)
    while True:
        yield batch(rng, size, n, task)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps (default 600)")
    parser.add_argument("--quick", action="store_true", help="a short run: 60 steps")
    parser.add_argument("--torch", action="store_true", help="train the same model with torch")
    parser.add_argument("--digits", type=int, default=8, help="sequence length (default 8)")
    parser.add_argument("--task", choices=("sort", "reverse"), default="sort")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    steps = 60 if args.quick else args.steps
    n = args.digits
    if args.torch:
        import torch

        lib: Any = torch
        torch.manual_seed(0)
    else:
        lib = cr
        cr.manual_seed(0)
    model = TinyGPT(lib, n)
    count = sum(p.numel() for p in model.parameters())
    print(f"TinyGPT on {lib.__name__}: {count} parameters, task: {args.task} {n} digits")
    start = time.perf_counter()
    losses = train(
        lib, model, steps, batches(0, args.batch_size, n, args.task), log_every=max(steps // 15, 1)
    )
    seconds = time.perf_counter() - start
    held_out = np.random.default_rng(12345).integers(0, DIGITS, size=(1000, n))
    accuracy = exact_match(lib, model, held_out, args.task)
    print(f"trained {steps} steps in {seconds:.1f} s; loss {losses[0]:.3f} -> {losses[-1]:.4f}")
    print(f"exact-match accuracy on 1000 held-out sequences: {accuracy:.1%}")


if __name__ == "__main__":
    main()
