"""A faster training path for nn.GRU and nn.RNN (tanh) on the CPU: the same mathematics, the same parameters.

PyTorch runs nn.LSTM on the CPU through one fused oneDNN kernel, forward and backward; nn.GRU and nn.RNN have
no such kernel, so autograd records a dozen small operations per time step and walks them back one by one
(on 2 cores a 1x64 GRU trained about 3x slower than the LSTM of the same size). This module computes the same
layers with a hand-written backward (one torch.autograd.Function per layer and direction):

- the input projections of all time steps are one matrix product (x @ W_ih^T + b_ih) before the recurrence;
- the forward loop does only the hidden recurrence, in place in preallocated buffers, and keeps the gates:
  per step one matrix product and four element-wise operations (GRU) or one (RNN);
- the backward loop carries only the gradient of the hidden state back through time: per step one matrix
  product and two element-wise operations (GRU) or one (RNN). Every factor that does not depend on that
  gradient is computed for all steps at once before the loop, and the weight, bias and input gradients are a
  few large matrix products over all steps after it (through oneDNN where torch has it, see `_onednn`).

The equations are PyTorch's (GRU: r, z, n with b_hn inside r * (W_hn h + b_hn); h' = (1 - z) * n + z * h);
only the rounding differs: in float32 outputs match nn.GRU/nn.RNN within about 1e-6 and gradients within
float32 round-off, in float64 within 1e-12 (tests/unit/test_fastrnn.py). tanh is evaluated as
2 * sigmoid(2a) - 1, the same function (torch's CPU tanh costs several times a sigmoid on the machine measured).

`recurrent(rnn, x)` is what `RecurrentForecaster` calls: the fast path only while the module trains on the CPU
with gradients on (`applies`); evaluation, inference, tracing and ONNX export call the module itself, so an
exported graph keeps its native RNN/GRU node. The parameters are the module's own (state_dict unchanged), and
dropout between layers draws the same mask as the module. ``TSRNN_FAST_RNN=0`` in the environment, or
`set_enabled(False)` / `enabled(False)`, turns the fast path off.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

_enabled = os.environ.get("TSRNN_FAST_RNN", "1").strip().lower() not in ("0", "false", "no", "off")


def set_enabled(flag: bool) -> bool:
    """Turn the fast path on or off for this process; returns the previous setting."""
    global _enabled
    previous, _enabled = _enabled, bool(flag)
    return previous


def is_enabled() -> bool:
    return _enabled


@contextlib.contextmanager
def enabled(flag: bool) -> Iterator[None]:
    """Within the block the fast path is on (True) or off (False), e.g. to time the standard modules."""
    previous = set_enabled(flag)
    try:
        yield
    finally:
        set_enabled(previous)


def supports(rnn: nn.Module) -> bool:
    """nn.GRU, or nn.RNN with tanh (not subclasses, which may compute something else)."""
    return type(rnn) is nn.GRU or (type(rnn) is nn.RNN and getattr(rnn, "nonlinearity", "") == "tanh")


GRU_WIDE = 8192
"""batch x hidden above which a GRU takes the fast path only with more than one torch thread. On one thread the
standard module was as fast there (batch 256, hidden 64: the fast epoch took 1.1-1.3x the standard one); with
two it was still 1.2-1.4x faster, and at batch 32-128 1.2-2x faster with either."""


def applies(rnn: nn.Module, x: Tensor) -> bool:
    """Whether `recurrent` takes the fast path: enabled, a supported module in training mode, gradients on,
    float32/float64 tensors on the CPU, batched input, no tracing, scripting, compiling or ONNX export, and a
    size where it is faster (`GRU_WIDE`)."""
    if not (_enabled and supports(rnn) and rnn.training and torch.is_grad_enabled()):
        return False
    if x.dim() != 3 or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return False
    batch = x.shape[0] if getattr(rnn, "batch_first", False) else x.shape[1]
    if type(rnn) is nn.GRU and batch * int(getattr(rnn, "hidden_size", 0)) > GRU_WIDE and torch.get_num_threads() == 1:
        return False
    if torch.jit.is_scripting() or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return False
    if torch.compiler.is_compiling():
        return False
    params = list(rnn.parameters())
    if not all(p.device.type == "cpu" and p.dtype == x.dtype for p in params):
        return False
    return x.requires_grad or any(p.requires_grad for p in params)


def recurrent(rnn: nn.Module, x: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
    """`rnn(x, hx)`, through the fast path where `applies` says so."""
    if applies(rnn, x) and (hx is None or isinstance(hx, Tensor)):
        return fast_forward(rnn, x, hx)
    return rnn(x) if hx is None else rnn(x, hx)


def fast_forward(rnn: nn.Module, x: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The fast path itself, whatever the mode: (output, h_n) as nn.GRU/nn.RNN return them for a batched
    input, with dropout between layers when the module trains."""
    if not (supports(rnn) and isinstance(rnn, nn.RNNBase)):
        raise TypeError(f"the fast path supports nn.GRU and nn.RNN (tanh), not {type(rnn).__name__}")
    if x.dim() != 3:
        raise ValueError(f"expected a batched input (3 dimensions), got {x.dim()}")
    fn: Any = _GRUFunction if type(rnn) is nn.GRU else _RNNFunction
    seq = x.transpose(0, 1) if rnn.batch_first else x  # (L, B, I)
    layer_in = seq.contiguous()
    dirs = 2 if rnn.bidirectional else 1
    finals: list[Tensor] = []
    for layer in range(rnn.num_layers):
        outs = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            b_ih = getattr(rnn, "bias_ih" + sfx) if rnn.bias else None
            b_hh = getattr(rnn, "bias_hh" + sfx) if rnn.bias else None
            h0 = hx[layer * dirs + d] if hx is not None else None
            out, h_n = fn.apply(
                layer_in, h0, getattr(rnn, "weight_ih" + sfx), getattr(rnn, "weight_hh" + sfx), b_ih, b_hh, bool(d)
            )
            outs.append(out)
            finals.append(h_n)
        layer_in = outs[0] if dirs == 1 else torch.cat(outs, dim=2)
        if rnn.dropout and rnn.training and layer < rnn.num_layers - 1:
            layer_in = F.dropout(layer_in, rnn.dropout, training=True)
    output = layer_in.transpose(0, 1) if rnn.batch_first else layer_in
    return output, torch.stack(finals)


_BIG = 1 << 20
"""Matrix products of at least this many multiply-adds go to oneDNN where it is available."""


@functools.cache
def _onednn() -> Any:
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


def _product(a: Tensor, b: Tensor, bias: Tensor | None, m: int, n: int, k: int) -> Tensor | None:
    """oneDNN's a @ b.T (+ bias) for a large float32 product, or None (then the caller uses torch's)."""
    op = _onednn() if a.dtype == torch.float32 and m * n * k >= _BIG else None
    if op is None:
        return None
    try:
        return op(a, b, bias, "none", [], "")
    except RuntimeError:  # a layout it has no kernel for
        return None


def _a_bt(a: Tensor, b: Tensor, bias: Tensor | None = None) -> Tensor:
    """a @ b.T (+ bias); a (M, K), b (N, K)."""
    out = _product(a, b, bias, a.shape[0], b.shape[0], a.shape[1])
    if out is not None:
        return out
    return a @ b.t() if bias is None else torch.addmm(bias, a, b.t())


def _a_b(a: Tensor, b: Tensor) -> Tensor:
    """a @ b; a (M, K), b (K, N)."""
    out = _product(a, b.t().contiguous(), None, a.shape[0], b.shape[1], a.shape[1])
    return a @ b if out is None else out


def _at_b(a: Tensor, b: Tensor) -> Tensor:
    """a.T @ b; a (K, M), b (K, N) with N the smaller: a weight gradient summed over all steps and windows."""
    out = _product(b.t().contiguous(), a.t(), None, b.shape[1], a.shape[1], a.shape[0])
    return a.t() @ b if out is None else out.t().contiguous()


def _bias(b: Tensor | None, size: int, like: Tensor) -> Tensor:
    return b if b is not None else like.new_zeros(size)


def _order(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _before_after(buffer: Tensor, reverse: bool) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """A state buffer (L + 1, B, H) -> per time step t, the views holding the state before and after it.

    Forward: slot 0 is h0 and slot t + 1 the state after step t. Reverse: slot L is h0 and slot t the state after
    step t (time L - 1 runs first)."""
    views = buffer.unbind(0)
    return (views[1:], views[:-1]) if reverse else (views[:-1], views[1:])


def _split(states: Tensor, reverse: bool) -> tuple[Tensor, Tensor, Tensor]:
    """A state buffer (L + 1, B, H) -> (outputs by time, state before each time step, final state)."""
    if reverse:
        return states[:-1], states[1:], states[0]
    return states[1:], states[:-1], states[-1]


def _h0_slot(length: int, reverse: bool) -> int:
    return length if reverse else 0


# Both cells keep their state as k = (h + 1) / 2 inside the forward loop: tanh(a) = 2 * sigmoid(2a) - 1 makes
# k a sigmoid (the RNN's new state is the sigmoid itself) and the GRU update h' = (1 - z) n + z h becomes
# k' = lerp(s, k, z) with s = sigmoid(2 a_n), one operation. W_hh h = 2 W_hh k - W_hh 1, so the products use
# 2 W_hh and biases less W_hh 1. h = 2k - 1 is restored for all steps at once after the loop.


class _GRUFunction(torch.autograd.Function):
    """One GRU layer in one direction; x (L, B, I) time-major -> (output (L, B, H), h_n (B, H))."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        h0: Tensor | None,
        w_ih: Tensor,
        w_hh: Tensor,
        b_ih: Tensor | None,
        b_hh: Tensor | None,
        reverse: bool,
    ) -> tuple[Tensor, Tensor]:
        ctx.set_materialize_grads(False)
        L, B, _ = x.shape
        H = w_hh.shape[1]
        b_ih_, b_hh_ = _bias(b_ih, 3 * H, w_ih), _bias(b_hh, 3 * H, w_hh)
        gi = _a_bt(x.reshape(L * B, -1), w_ih, b_ih_).view(L, B, 3 * H)
        # gates (L, B, 3H): the r and z pre-activations without W_hr h and W_hz h (which each step adds, and then
        # turns them into r and z in place), and W_hn h + b_hn (built by the step's product).
        folded = b_hh_ - w_hh.sum(1)
        gates = torch.empty_like(gi)
        torch.add(gi[..., : 2 * H], folded[: 2 * H], out=gates[..., : 2 * H])
        gates[..., 2 * H :] = folded[2 * H :]
        s = gi[..., 2 * H :].mul(2)  # 2 (W_in x + b_in), then s = sigmoid(2 a_n) in place
        ks = x.new_empty(L + 1, B, H)
        first = L - 1 if reverse else 0
        if h0 is None:  # k0 = 1/2: the first step's W_hh h0 is zero, its gates take the plain b_hh and no product
            ks[_h0_slot(L, reverse)] = 0.5
            torch.add(gi[first, :, : 2 * H], b_hh_[: 2 * H], out=gates[first, :, : 2 * H])
            gates[first, :, 2 * H :] = b_hh_[2 * H :]
        else:
            torch.add(h0, 1, out=ks[_h0_slot(L, reverse)]).mul_(0.5)
        k_before, k_after = _before_after(ks, reverse)
        # One view per step, made before the loop (indexing inside it costs about as much as an operation).
        g_all, rz, r, z = (
            gates.unbind(0),
            gates[..., : 2 * H].unbind(0),
            gates[..., :H].unbind(0),
            gates[..., H : 2 * H].unbind(0),
        )
        ghn, s_all = gates[..., 2 * H :].unbind(0), s.unbind(0)
        w2_t = w_hh.mul(2).t()
        addcmul, lerp = torch.addcmul, torch.lerp
        for t in _order(L, reverse):
            if h0 is not None or t != first:
                g_all[t].addmm_(k_before[t], w2_t)
            rz[t].sigmoid_()
            s_t = s_all[t]
            addcmul(s_t, r[t], ghn[t], value=2, out=s_t).sigmoid_()
            lerp(s_t, k_before[t], z[t], out=k_after[t])
        hs = ks.mul_(2).sub_(1)  # h = 2k - 1, in place
        ctx.save_for_backward(x, hs, gates, s, w_ih, w_hh)
        ctx.reverse = reverse
        out, _, last = _split(hs, reverse)
        return out, last.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, d_out: Tensor | None, d_last: Tensor | None) -> tuple[Tensor | None, ...]:
        x, hs, gates, s, w_ih, w_hh = ctx.saved_tensors
        reverse = ctx.reverse
        L, B, H = s.shape
        _, h_prev, _ = _split(hs, reverse)
        r, z, ghn = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
        n = s.mul(2).sub_(1)
        # dL/d(pre-activations) = coef * dh_t, with coefficients that do not depend on dh: all steps at once.
        one_z = 1 - z
        A = torch.addcmul(one_z, one_z, n * n, value=-1)  # (1 - z)(1 - n^2): dL/d(pre-activation of n)
        coef = x.new_empty(L, B, 3, H)
        torch.mul(A * ghn, torch.addcmul(r, r, r, value=-1), out=coef[:, :, 0])  # r: A (W_hn h + b_hn) r(1 - r)
        torch.mul(h_prev - n, z * one_z, out=coef[:, :, 1])  # z: (h_prev - n) z(1 - z)
        torch.mul(A, r, out=coef[:, :, 2])  # W_hn h + b_hn: A r
        dh = torch.zeros_like(n) if d_out is None else d_out.clone(memory_format=torch.contiguous_format)
        d_gh = x.new_empty(L, B, 3, H)
        order = list(_order(L, reverse))
        if d_last is not None:
            dh[order[-1]] += d_last
        coefs, dhs, dh1, z_all = coef.unbind(0), dh.unbind(0), dh.unsqueeze(2).unbind(0), z.unbind(0)
        d_gh3, d_gh2 = d_gh.unbind(0), d_gh.view(L, B, 3 * H).unbind(0)
        mul = torch.mul
        for i in range(L - 1, 0, -1):
            t, prev = order[i], order[i - 1]
            mul(coefs[t], dh1[t], out=d_gh3[t])  # dL/d(W_hr h, W_hz h, W_hn h + b_hn) at step t
            dhs[prev].addcmul_(dhs[t], z_all[t]).addmm_(d_gh2[t], w_hh)
        t0 = order[0]
        mul(coefs[t0], dh1[t0], out=d_gh3[t0])
        need = ctx.needs_input_grad
        d_h0 = torch.addmm(dhs[t0] * z_all[t0], d_gh2[t0], w_hh) if need[1] else None
        d_gi = d_gh.clone()
        torch.mul(A, dh, out=d_gi[:, :, 2])
        d_gh2_all, d_gi2 = d_gh.view(L * B, 3 * H), d_gi.view(L * B, 3 * H)
        d_x = _a_b(d_gi2, w_ih).view(L, B, -1) if need[0] else None
        d_w_ih = _at_b(d_gi2, x.reshape(L * B, -1)) if need[2] else None
        d_w_hh = _at_b(d_gh2_all, h_prev.reshape(L * B, H)) if need[3] else None
        d_b_ih = d_gi2.sum(0) if need[4] else None
        d_b_hh = d_gh2_all.sum(0) if need[5] else None
        return d_x, d_h0, d_w_ih, d_w_hh, d_b_ih, d_b_hh, None


class _RNNFunction(torch.autograd.Function):
    """One tanh RNN layer in one direction; x (L, B, I) time-major -> (output (L, B, H), h_n (B, H))."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        h0: Tensor | None,
        w_ih: Tensor,
        w_hh: Tensor,
        b_ih: Tensor | None,
        b_hh: Tensor | None,
        reverse: bool,
    ) -> tuple[Tensor, Tensor]:
        ctx.set_materialize_grads(False)
        L, B, _ = x.shape
        H = w_hh.shape[1]
        row_sums = w_hh.sum(1)
        bias = _bias(b_ih, H, w_ih) + _bias(b_hh, H, w_hh)
        # ks (L + 1, B, H): each step's slot first holds 2 (W_ih x + b_ih + b_hh - W_hh 1), then the step adds
        # 4 W_hh k_before and takes the sigmoid in place: the new k.
        ks = x.new_empty(L + 1, B, H)
        steps, _, _ = _split(ks, reverse)
        torch.mul(_a_bt(x.reshape(L * B, -1), w_ih, bias - row_sums).view(L, B, H), 2, out=steps)
        first = L - 1 if reverse else 0
        if h0 is None:  # k0 = 1/2 and W_hh h0 = 0: the first step has no product and no folded bias
            ks[_h0_slot(L, reverse)] = 0.5
            steps[first].add_(row_sums, alpha=2)
        else:
            torch.add(h0, 1, out=ks[_h0_slot(L, reverse)]).mul_(0.5)
        k_before, k_after = _before_after(ks, reverse)
        w4_t = w_hh.mul(4).t()
        for t in _order(L, reverse):
            k = k_after[t]
            if h0 is not None or t != first:
                k.addmm_(k_before[t], w4_t)
            k.sigmoid_()
        hs = ks.mul_(2).sub_(1)  # h = 2k - 1, in place
        ctx.save_for_backward(x, hs, w_ih, w_hh)
        ctx.reverse = reverse
        out, _, last = _split(hs, reverse)
        return out, last.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, d_out: Tensor | None, d_last: Tensor | None) -> tuple[Tensor | None, ...]:
        x, hs, w_ih, w_hh = ctx.saved_tensors
        reverse = ctx.reverse
        L1, B, H = hs.shape
        L = L1 - 1
        out, h_prev, _ = _split(hs, reverse)
        slope = torch.addcmul(torch.ones((), dtype=x.dtype), out, out, value=-1)  # 1 - h^2
        dh = torch.zeros_like(out) if d_out is None else d_out.clone(memory_format=torch.contiguous_format)
        d_pre = x.new_empty(L, B, H)
        order = list(_order(L, reverse))
        if d_last is not None:
            dh[order[-1]] += d_last
        dhs, slopes, d_pres = dh.unbind(0), slope.unbind(0), d_pre.unbind(0)
        mul = torch.mul
        for i in range(L - 1, 0, -1):
            t, prev = order[i], order[i - 1]
            dhs[prev].addmm_(mul(dhs[t], slopes[t], out=d_pres[t]), w_hh)
        t0 = order[0]
        mul(dhs[t0], slopes[t0], out=d_pres[t0])
        need = ctx.needs_input_grad
        d_h0 = d_pres[t0] @ w_hh if need[1] else None
        d2 = d_pre.view(L * B, H)
        d_x = _a_b(d2, w_ih).view(L, B, -1) if need[0] else None
        d_w_ih = _at_b(d2, x.reshape(L * B, -1)) if need[2] else None
        d_w_hh = _at_b(d2, h_prev.reshape(L * B, H)) if need[3] else None
        d_b = d2.sum(0) if need[4] or need[5] else None
        return d_x, d_h0, d_w_ih, d_w_hh, d_b if need[4] else None, d_b if need[5] else None, None
