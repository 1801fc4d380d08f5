"""The large matrix products of the GRU/RNN training fast path (`tsrnn.model.fast.cells`): a layer's input projection
over all steps and its input and weight gradients, through oneDNN where torch has it, else torch's own."""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor

BIG = 1 << 20
"""Matrix products of at least this many multiply-adds go to oneDNN where it is available."""


@functools.cache
def onednn() -> Any:
    """oneDNN's matrix product (`torch.ops.mkldnn._linear_pointwise`, what torch's own compiler uses on CPUs), or
    None where this torch lacks it or it disagrees with torch.addmm on a small check. On the CPU measured it ran
    the large products of a layer 1.8-2.3x faster than torch.addmm (docs/performance.md)."""
    try:
        if not torch.backends.mkldnn.is_available():
            return None
        op = torch.ops.mkldnn._linear_pointwise
        a = torch.arange(40, dtype=torch.float32).view(8, 5) / 7
        w = torch.arange(15, dtype=torch.float32).view(3, 5) / 5 - 1
        b = torch.tensor([0.5, -1.0, 2.0])
        ok = torch.allclose(
            op(a, w, b, "none", [], ""), torch.addmm(b, a, w.t()), rtol=1e-5, atol=1e-5
        ) and torch.allclose(op(w, a.t().contiguous().t(), None, "none", [], ""), w @ a.t(), rtol=1e-5, atol=1e-5)
        return op if ok else None
    except (AttributeError, RuntimeError):
        return None


def product(a: Tensor, b: Tensor, bias: Tensor | None, m: int, n: int, k: int) -> Tensor | None:
    """oneDNN's a @ b.T (+ bias) for a large float32 product, or None (then the caller uses torch's)."""
    op = onednn() if a.dtype == torch.float32 and m * n * k >= BIG else None
    if op is None or not (dense(a) and dense(b)):  # any other strides: oneDNN copies slowly (100x measured)
        return None
    try:
        return op(a, b, bias, "none", [], "")
    except RuntimeError:  # a layout it has no kernel for
        return None


def dense(t: Tensor) -> bool:
    """A matrix stored row-major or column-major without gaps."""
    return t.is_contiguous() or t.t().is_contiguous()


def a_bt_into(out: Tensor, a: Tensor, b: Tensor, bias: Tensor, scale: float = 1.0) -> None:
    """out = scale * (a @ b.T + bias); a (M, K), b (N, K), out (M, N) contiguous."""
    got = product(a, b, bias, a.shape[0], b.shape[0], a.shape[1])
    if got is not None:
        torch.mul(got, scale, out=out) if scale != 1.0 else out.copy_(got)
    else:
        torch.addmm(bias, a, b.t(), beta=scale, alpha=scale, out=out)


def a_b(a: Tensor, b: Tensor) -> Tensor:
    """a @ b; a (M, K), b (K, N)."""
    out = product(a, b.t().contiguous(), None, a.shape[0], b.shape[1], a.shape[1])
    return a @ b if out is None else out


def at_b(a: Tensor, b: Tensor) -> Tensor:
    """a.T @ b; a (K, M), b (K, N) with N the smaller: a weight gradient summed over all steps and windows."""
    out = product(b.t().contiguous(), a.t(), None, b.shape[1], a.shape[1], a.shape[0])
    return a.t() @ b if out is None else out.t().contiguous()
