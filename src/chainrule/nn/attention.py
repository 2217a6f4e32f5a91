"""MultiheadAttention with torch's packed parameters, masks and return values."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import creation, errors, ops
from chainrule.nn import functional as F
from chainrule.nn import functional_attention as FA
from chainrule.nn import init
from chainrule.nn.layers import Linear
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor


class MultiheadAttention(Module):
    """softmax(Q K^T / sqrt(d) + mask) V over num_heads heads of size embed_dim / num_heads,
    then out_proj (torch.nn.MultiheadAttention).

    Parameters as torch's: `in_proj_weight` (3 E, E) packs the query, key and value
    projections (or `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim or vdim differ
    from embed_dim), `in_proj_bias` (3 E,), and `out_proj` a Linear(E, E). Masks follow torch's
    convention here: a bool attn_mask or key_padding_mask is True where attention is NOT
    allowed, a float one is added to the scores. Returns (output, attention weights averaged
    over heads, or per head, or None when need_weights=False).

    >>> import chainrule as cr
    >>> mha = cr.nn.MultiheadAttention(8, 2, batch_first=True)
    >>> out, weights = mha(cr.randn(3, 5, 8), cr.randn(3, 4, 8), cr.randn(3, 4, 8))
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 4))
    """

    in_proj_weight: Parameter | None
    q_proj_weight: Parameter | None
    k_proj_weight: Parameter | None
    v_proj_weight: Parameter | None
    in_proj_bias: Parameter | None

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                f"embed_dim={embed_dim} and num_heads={num_heads}"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                f"({num_heads})"
            )
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first = batch_first
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(creation.empty(3 * embed_dim, embed_dim, dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(creation.empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(creation.empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(creation.empty(embed_dim, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(creation.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # torch's init: Xavier-uniform projections, zero biases (out_proj keeps Linear's weight)
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
        if self.out_proj.bias is not None:
            init.zeros_(self.out_proj.bias)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        e, b = self.embed_dim, self.in_proj_bias
        if self.in_proj_weight is not None and query is key and key is value:
            # self-attention: one product with the packed weight, split in three
            q, k, v = ops.linear(query, self.in_proj_weight, b).chunk(3, -1)
            return q, k, v
        if self.in_proj_weight is not None:
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
        else:
            assert self.q_proj_weight is not None and self.k_proj_weight is not None
            assert self.v_proj_weight is not None
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        return ops.linear(query, wq, bq), ops.linear(key, wk, bk), ops.linear(value, wv, bv)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        if is_causal and attn_mask is None:  # torch: is_causal is a hint about attn_mask
            raise errors.ArgumentError(
                "MultiheadAttention: need attn_mask if specifying the is_causal hint"
            )
        unbatched = query.ndim == 2
        self._check_inputs(query, key, value, unbatched)
        if unbatched:
            same = query is key, key is value
            query = query.unsqueeze(0)
            key = query if same[0] else key.unsqueeze(0)
            value = key if same[1] else value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.reshape(1, -1)
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            same = query is key, key is value
            query = query.transpose(0, 1)
            key = query if same[0] else key.transpose(0, 1)
            value = key if same[1] else value.transpose(0, 1)
        n, l_, s = query.shape[0], query.shape[1], key.shape[1]
        h, d = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        q = q.reshape(n, l_, h, d).transpose(1, 2)
        k = k.reshape(n, s, h, d).transpose(1, 2)
        v = v.reshape(n, s, h, d).transpose(1, 2)
        mask = self._merged_mask(attn_mask, key_padding_mask, n, l_, s, q.dtype)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:  # torch's explicit path: plain softmax (a row masked throughout is nan)
            scores = (q @ k.mT) * (1.0 / math.sqrt(d))
            if mask is not None:
                scores = scores + mask
            weights = scores.softmax(-1)
            if p > 0:  # as torch, the weights returned are the dropped-out ones
                weights = F.dropout(weights, p, True)
            out = weights @ v
        else:  # torch calls scaled_dot_product_attention here
            out = FA.scaled_dot_product_attention(q, k, v, mask, p)
        out = self.out_proj(out.transpose(1, 2).reshape(n, l_, self.embed_dim))
        if unbatched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if weights is not None:
            weights = weights.mean(1) if average_attn_weights else weights
            if unbatched:
                weights = weights.squeeze(0)
        return out, weights

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor, unbatched: bool) -> None:
        rank = 2 if unbatched else 3
        wanted = (self.embed_dim, self.kdim, self.vdim)
        for name, t, e in zip(("query", "key", "value"), (query, key, value), wanted, strict=True):
            if t.ndim != rank or t.shape[-1] != e:
                raise errors.ShapeError(
                    f"MultiheadAttention: expected {name} of {rank} dims ending in {e} "
                    f"(query of shape {tuple(query.shape)}), got shape {tuple(t.shape)}"
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise errors.ShapeError(
                f"MultiheadAttention: key shape {tuple(key.shape)} does not match value shape "
                f"{tuple(value.shape)}"
            )
        batch = 0 if self.batch_first else 1
        if not unbatched and query.shape[batch] != key.shape[batch]:
            raise errors.ShapeError(
                f"MultiheadAttention: query {tuple(query.shape)} and key {tuple(key.shape)} "
                f"have different batch sizes (batch_first={self.batch_first})"
            )

    def _merged_mask(
        self, attn_mask: Any, key_padding_mask: Any, n: int, l_: int, s: int, dtype: Any
    ) -> Tensor | None:
        """attn_mask ((L, S) or (N heads, L, S)) and key_padding_mask ((N, S)) as one float
        mask broadcastable to the (N, heads, L, S) scores: -inf where a bool mask says True."""
        h = self.num_heads
        merged: Tensor | None = None
        if attn_mask is not None:
            shape = tuple(attn_mask.shape)
            if shape not in ((l_, s), (n * h, l_, s)):
                raise errors.ShapeError(
                    f"MultiheadAttention: attn_mask of shape {shape} should be (L, S) = "
                    f"{(l_, s)} or (N * num_heads, L, S) = {(n * h, l_, s)}"
                )
            merged = _as_float_mask(attn_mask, dtype)
            if len(shape) == 3:
                merged = merged.reshape(n, h, l_, s)
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (n, s):
                raise errors.ShapeError(
                    f"MultiheadAttention: key_padding_mask of shape "
                    f"{tuple(key_padding_mask.shape)} should be (N, S) = {(n, s)}"
                )
            padding = _as_float_mask(key_padding_mask, dtype).reshape(n, 1, 1, s)
            merged = padding if merged is None else merged + padding
        return merged


def _as_float_mask(mask: Any, dtype: Any) -> Tensor:
    """A bool mask (True: masked out) as 0 / -inf; a float mask as it is."""
    data = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if data.dtype == np.bool_:
        return Tensor._make(np.where(data, -np.inf, 0.0).astype(dtype))
    return mask if isinstance(mask, Tensor) else Tensor._make(data.astype(dtype))
