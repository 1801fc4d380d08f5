"""One GRU or tanh-RNN layer in one direction with a hand-written backward through time (`tsrnn.model.fast.rnn` stacks
them into nn.GRU / nn.RNN).

- the input projections of all time steps are one matrix product (x @ W_ih^T + b_ih) before the recurrence;
- the forward loop does only the hidden recurrence, in place, and keeps the gates: per step one matrix product
  and four element-wise operations (GRU) or one (RNN);
- the backward loop carries only the gradient of the hidden state back through time: per step one matrix
  product and two element-wise operations (GRU) or one (RNN). In the torch loops every factor that does not
  depend on that gradient is computed for all steps at once before the loop (the compiled loops compute them
  in the loop); the weight, bias and input gradients are a few large matrix products over all steps after it
  (through oneDNN where torch has it, see `tsrnn.model.fast.products`);
- every tensor of a step that is not returned lives in a `tsrnn.model.workspace.Workspace`, reused from one training
  step to the next together with its per-step views (fresh pages and view-making cost as much as the arithmetic
  at these sizes);
- a float32 GRU layer runs both loops in compiled code
  (`tsrnn.model.fast.kernel`: per step one BLAS product and one pass over the step's numbers) where it is available;
  `_gru_forward_loop` and `_gru_backward_loop` are the same loops in torch operations.

The equations are PyTorch's (GRU: r, z, n with b_hn inside r * (W_hn h + b_hn); h' = (1 - z) * n + z * h);
only the rounding differs. tanh is evaluated as 2 * sigmoid(2a) - 1, the same function (torch's CPU tanh costs
several times a sigmoid on the machine measured).

Both cells keep their state as k = (h + 1) / 2 inside the forward loop: tanh(a) = 2 * sigmoid(2a) - 1 makes k a
sigmoid (the RNN's new state is the sigmoid itself) and the GRU update h' = (1 - z) n + z h becomes
k' = lerp(s, k, z) with s = sigmoid(2 a_n), one operation. W_hh h = 2 W_hh k - W_hh 1, so the products use 2 W_hh
and biases less W_hh 1. h = 2k - 1 is restored for all steps at once after the loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

import tsrnn.model.fast.kernel as fastkernel
import tsrnn.model.workspace as workspace
from tsrnn.model.fast.products import a_b, a_bt_into, at_b
from tsrnn.model.workspace import Lease, Workspace

_override: list[fastkernel.Kernel | None] = []


@contextlib.contextmanager
def kernel_override(kernel: fastkernel.Kernel | None) -> Iterator[None]:
    """Within the block GRU layers use `kernel` (None: the torch loops) instead of `fastkernel.load()`."""
    _override.append(kernel)
    try:
        yield
    finally:
        _override.pop()


def kernel_for(x: Tensor, w_hh: Tensor) -> fastkernel.Kernel | None:
    """The compiled loops for a GRU layer with this input and W_hh, where they are available: float32 on the CPU
    with a contiguous W_hh (anything else takes the torch loops)."""
    if not (x.dtype == w_hh.dtype == torch.float32 and x.device.type == w_hh.device.type == "cpu"):
        return None
    if not w_hh.is_contiguous():
        return None
    return _override[-1] if _override else fastkernel.load()


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


def _start_state(ks: Tensor, h0: Tensor | None, reverse: bool) -> None:
    """The state buffer's h0 slot as k0 = (h0 + 1) / 2 (1/2 for a zero h0, whose step needs no product)."""
    slot = ks[_h0_slot(ks.shape[0] - 1, reverse)]
    if h0 is None:
        slot.fill_(0.5)
    else:
        torch.add(h0, 1, out=slot).mul_(0.5)


def _outputs(
    ctx: Any, lease: Lease, ks: Tensor, x: Tensor, w_ih: Tensor, w_hh: Tensor, reverse: bool
) -> tuple[Tensor, Tensor]:
    """After the forward loop: the states as h = 2k - 1 (in place), what backward needs kept, and (output, h_n)."""
    out, _, last = _split(ks.mul_(2).sub_(1), reverse)
    out = out.view_as(out)  # a view of its own, so that the workspace stays lent out while the caller holds it
    ctx.save_for_backward(x, out, w_ih, w_hh)  # out: autograd refuses backward if it was changed in place
    ctx.lease, ctx.reverse = lease, reverse
    return out, last.clone()


def _incoming(dh: Tensor, d_out: Tensor | None, d_last: Tensor | None, order: range) -> None:
    """dh (L, B, H) := dL/d(output) of every step, plus dL/d(h_n) at the last step run."""
    dh.zero_() if d_out is None else dh.copy_(d_out)
    if d_last is not None:
        dh[order[-1]] += d_last


def _lease(ctx: Any) -> Workspace:
    """The layer's workspace in backward; refused if it was lent to another layer since (a second backward through
    a graph kept with retain_graph=True after more training steps)."""
    lease: Lease = ctx.lease
    if lease.workspace.lease != lease.number:
        raise RuntimeError(
            "tsrnn's GRU/RNN training fast path keeps a layer's gates only until its first backward; for a second "
            "backward through the same graph turn it off (TSRNN_FAST_RNN=0 or tsrnn.model.fast.rnn.set_enabled(False))"
        )
    return lease.workspace


def _gru_workspace(steps: int, batch: int, hidden: int, dtype: torch.dtype, reverse: bool, compiled: bool) -> Workspace:
    """The gates (L, B, 3H) and s (L, B, H) of the forward, the states (L + 1, B, H), and backward's gradients;
    for the torch loops also backward's coefficients and temporaries and the per-step views both loops use."""
    L, B, H = steps, batch, hidden
    shapes: dict[str, tuple[int, ...]] = {
        "gates": (L, B, 3 * H),
        "s": (L, B, H),
        "ks": (L + 1, B, H),
        "a": (L, B, H),
        "dh": (L, B, H),
        "d_g": (L, B, 3 * H),
    }
    if compiled:
        return Workspace(dtype, shapes, own=("ks",))
    shapes |= {"n": (L, B, H), "one_z": (L, B, H), "coef": (L, B, 4, H), "d_gh": (L, B, 4, H)}
    ws = Workspace(dtype, shapes, own=("ks",))
    g = ws["gates"]
    v = ws.views
    v["g"], v["rz"] = g.unbind(0), g[..., : 2 * H].unbind(0)
    v["r"], v["z"], v["ghn"] = g[..., :H].unbind(0), g[..., H : 2 * H].unbind(0), g[..., 2 * H :].unbind(0)
    v["s"] = ws["s"].unbind(0)
    v["k_before"], v["k_after"] = _before_after(ws["ks"], reverse)
    v["coef"], v["dh"], v["dh1"] = ws["coef"].unbind(0), ws["dh"].unbind(0), ws["dh"].unsqueeze(2).unbind(0)
    d_gh = ws["d_gh"]
    v["d_gh4"], v["d_gh2"] = d_gh.unbind(0), d_gh.view(L, B, 4 * H)[..., : 3 * H].unbind(0)
    v["z_dh"] = d_gh[:, :, 3].unbind(0)
    return ws


def _gru_forward_loop(v: dict[str, Any], w_hh: Tensor, steps: int, reverse: bool, skip_first: bool) -> None:
    """The forward recurrence with torch operations (where the compiled kernel is not available)."""
    k_before, k_after = v["k_before"], v["k_after"]
    g_all, rz, r, z, ghn, s_all = v["g"], v["rz"], v["r"], v["z"], v["ghn"], v["s"]
    w2_t = w_hh.mul(2).t()
    addcmul, lerp = torch.addcmul, torch.lerp
    first = steps - 1 if reverse else 0
    for t in _order(steps, reverse):
        if not (skip_first and t == first):
            g_all[t].addmm_(k_before[t], w2_t)
        rz[t].sigmoid_()
        s_t = s_all[t]
        addcmul(s_t, r[t], ghn[t], value=2, out=s_t).sigmoid_()
        lerp(s_t, k_before[t], z[t], out=k_after[t])


def _gru_backward_loop(ws: Workspace, w_hh: Tensor, h_prev: Tensor, reverse: bool, no_out: bool) -> None:
    """What the compiled kernel's gru_backward does, with torch operations: carries ws["dh"] back through time and
    fills ws["d_g"] and ws["a"] (with (1 - z)(1 - n^2) dh)."""
    v, gates = ws.views, ws["gates"]
    L, _, H = ws["s"].shape
    r, z, ghn = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
    n = torch.mul(ws["s"], 2, out=ws["n"]).sub_(1)
    # dL/d(pre-activations) = coef * dh_t, with coefficients that do not depend on dh: all steps at once.
    one_z = torch.neg(z, out=ws["one_z"]).add_(1)
    a = torch.mul(n, n, out=ws["a"])
    torch.addcmul(one_z, one_z, a, value=-1, out=a)  # (1 - z)(1 - n^2): dL/d(pre-activation of n)
    # coef (L, B, 4, H): per step, what dh_t is multiplied by to give dL/d(W_hr h, W_hz h, W_hn h + b_hn) and its
    # path straight through the update (z): dh_{t-1} = z dh_t + (the first three) @ W_hh, one product.
    coef = ws["coef"]
    torch.addcmul(r, r, r, value=-1, out=coef[:, :, 0]).mul_(ghn).mul_(a)  # r: a (W_hn h + b_hn) r(1 - r)
    torch.sub(h_prev, n, out=coef[:, :, 1]).mul_(z).mul_(one_z)  # z: (h_prev - n) z(1 - z)
    torch.mul(a, r, out=coef[:, :, 2])  # W_hn h + b_hn: a r
    coef[:, :, 3] = z
    order = _order(L, reverse)
    coefs, dhs, dh1, d_gh4, d_gh2, z_dh = v["coef"], v["dh"], v["dh1"], v["d_gh4"], v["d_gh2"], v["z_dh"]
    mul, addmm = torch.mul, torch.addmm
    for i in range(L - 1, 0, -1):
        t, prev = order[i], order[i - 1]
        mul(coefs[t], dh1[t], out=d_gh4[t])
        if no_out:
            addmm(z_dh[t], d_gh2[t], w_hh, out=dhs[prev])
        else:
            dhs[prev].add_(z_dh[t]).addmm_(d_gh2[t], w_hh)
    mul(coefs[order[0]], dh1[order[0]], out=d_gh4[order[0]])
    ws["d_g"].view(L, -1, 3, H).copy_(ws["d_gh"][:, :, :3])
    a.mul_(ws["dh"])


class GRUFunction(torch.autograd.Function):
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
        kernel = kernel_for(x, w_hh)
        compiled = kernel is not None
        lease = workspace.take(
            ("gru", L, B, H, x.dtype, reverse, compiled), lambda: _gru_workspace(L, B, H, x.dtype, reverse, compiled)
        )
        ws, v = lease.workspace, lease.workspace.views
        b_ih_, b_hh_ = _bias(b_ih, 3 * H, w_ih), _bias(b_hh, 3 * H, w_hh)
        # gates (L, B, 3H): the r and z pre-activations without W_hr h and W_hz h (which each step adds, and then
        # turns them into r and z in place), and W_hn h + b_hn (built by the step's product).
        row_sums = w_hh.sum(1)
        folded = b_hh_ - row_sums
        gates, s, ks = ws["gates"], ws["s"], ws["ks"]
        a_bt_into(
            gates.view(L * B, 3 * H),
            x.reshape(L * B, -1),
            w_ih,
            b_ih_ + torch.cat([folded[: 2 * H], folded.new_zeros(H)]),
        )
        _start_state(ks, h0, reverse)
        if kernel is not None:
            kernel.gru_forward(gates, s, ks, w_hh, folded.contiguous(), b_hh_.contiguous(), reverse, h0 is None)
        else:
            torch.mul(gates[..., 2 * H :], 2, out=s)  # 2 (W_in x + b_in), then s = sigmoid(2 a_n) in place
            gates[..., 2 * H :] = folded[2 * H :]
            if h0 is None:  # the first step's W_hh h0 is zero: its gates take the plain b_hh and no product
                first = L - 1 if reverse else 0
                gates[first, :, : 2 * H] += row_sums[: 2 * H]
                gates[first, :, 2 * H :] = b_hh_[2 * H :]
            _gru_forward_loop(v, w_hh, L, reverse, skip_first=h0 is None)
        ctx.kernel = kernel
        return _outputs(ctx, lease, ks, x, w_ih, w_hh, reverse)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, d_out: Tensor | None, d_last: Tensor | None) -> tuple[Tensor | None, ...]:
        x, _, w_ih, w_hh = ctx.saved_tensors
        ws, reverse, kernel = _lease(ctx), ctx.reverse, ctx.kernel
        gates, s, a, dh, d_g = ws["gates"], ws["s"], ws["a"], ws["dh"], ws["d_g"]
        L, B, H = s.shape
        _, h_prev, _ = _split(ws["ks"], reverse)
        order = _order(L, reverse)
        _incoming(dh, d_out, d_last, order)
        if kernel is not None:
            kernel.gru_backward(gates, s, ws["ks"], dh, d_g, a, w_hh, reverse)
        else:
            _gru_backward_loop(ws, w_hh, h_prev, reverse, d_out is None)
        # d_g (L, B, 3H): dL/d(W_hr h, W_hz h, W_hn h + b_hn) of every step; a: (1 - z)(1 - n^2) dh
        need = ctx.needs_input_grad
        t0 = order[0]
        d_h0 = torch.addmm(dh[t0] * gates[t0, :, H : 2 * H], d_g[t0], w_hh) if need[1] else None
        d_g2 = d_g.view(L * B, 3 * H)
        d_w_hh = at_b(d_g2, h_prev.reshape(L * B, H)) if need[3] else None
        d_b_hh = d_g2.sum(0) if need[5] else None
        d_g[..., 2 * H :] = a  # now dL/d(x W_ih^T + b_ih): the n part is a dh, not a r dh
        d_x = a_b(d_g2, w_ih).view(L, B, -1) if need[0] else None
        d_w_ih = at_b(d_g2, x.reshape(L * B, -1)) if need[2] else None
        d_b_ih = d_g2.sum(0) if need[4] else None
        ctx.lease.give_back()
        return d_x, d_h0, d_w_ih, d_w_hh, d_b_ih, d_b_hh, None


def _rnn_workspace(steps: int, batch: int, hidden: int, dtype: torch.dtype, reverse: bool) -> Workspace:
    L, B, H = steps, batch, hidden
    ws = Workspace(dtype, {"ks": (L + 1, B, H), "slope": (L, B, H), "dh": (L, B, H), "d_pre": (L, B, H)}, own=("ks",))
    v = ws.views
    v["k_before"], v["k_after"] = _before_after(ws["ks"], reverse)
    v["dh"], v["slope"], v["d_pre"] = ws["dh"].unbind(0), ws["slope"].unbind(0), ws["d_pre"].unbind(0)
    return ws


class RNNFunction(torch.autograd.Function):
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
        lease = workspace.take(("rnn", L, B, H, x.dtype, reverse), lambda: _rnn_workspace(L, B, H, x.dtype, reverse))
        ws, v = lease.workspace, lease.workspace.views
        row_sums = w_hh.sum(1)
        bias = _bias(b_ih, H, w_ih) + _bias(b_hh, H, w_hh)
        # ks (L + 1, B, H): each step's slot first holds 2 (W_ih x + b_ih + b_hh - W_hh 1), then the step adds
        # 4 W_hh k_before and takes the sigmoid in place: the new k.
        ks = ws["ks"]
        steps, _, _ = _split(ks, reverse)
        a_bt_into(steps.view(L * B, H), x.reshape(L * B, -1), w_ih, bias - row_sums, scale=2.0)
        first = L - 1 if reverse else 0
        _start_state(ks, h0, reverse)
        if h0 is None:  # W_hh h0 = 0: the first step has no product and no folded bias
            steps[first].add_(row_sums, alpha=2)
        k_before, k_after = v["k_before"], v["k_after"]
        w4_t = w_hh.mul(4).t()
        for t in _order(L, reverse):
            k = k_after[t]
            if h0 is not None or t != first:
                k.addmm_(k_before[t], w4_t)
            k.sigmoid_()
        return _outputs(ctx, lease, ks, x, w_ih, w_hh, reverse)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, d_out: Tensor | None, d_last: Tensor | None) -> tuple[Tensor | None, ...]:
        x, _, w_ih, w_hh = ctx.saved_tensors
        ws, reverse = _lease(ctx), ctx.reverse
        v = ws.views
        L1, B, H = ws["ks"].shape
        L = L1 - 1
        out, h_prev, _ = _split(ws["ks"], reverse)
        torch.mul(out, out, out=ws["slope"]).neg_().add_(1)  # 1 - h^2
        order = _order(L, reverse)
        _incoming(ws["dh"], d_out, d_last, order)
        dhs, slopes, d_pres = v["dh"], v["slope"], v["d_pre"]
        mul = torch.mul
        for i in range(L - 1, 0, -1):
            t, prev = order[i], order[i - 1]
            dhs[prev].addmm_(mul(dhs[t], slopes[t], out=d_pres[t]), w_hh)
        t0 = order[0]
        mul(dhs[t0], slopes[t0], out=d_pres[t0])
        need = ctx.needs_input_grad
        d_h0 = d_pres[t0] @ w_hh if need[1] else None
        d2 = ws["d_pre"].view(L * B, H)
        d_x = a_b(d2, w_ih).view(L, B, -1) if need[0] else None
        d_w_ih = at_b(d2, x.reshape(L * B, -1)) if need[2] else None
        d_w_hh = at_b(d2, h_prev.reshape(L * B, H)) if need[3] else None
        d_b = d2.sum(0) if need[4] or need[5] else None
        ctx.lease.give_back()
        return d_x, d_h0, d_w_ih, d_w_hh, d_b if need[4] else None, d_b if need[5] else None, None
