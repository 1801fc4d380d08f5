"""A faster training path for nn.GRU and nn.RNN (tanh) on the CPU: the same mathematics, the same parameters.

PyTorch runs nn.LSTM on the CPU through one fused oneDNN kernel, forward and backward; nn.GRU and nn.RNN have
no such kernel, so autograd records a dozen small operations per time step and walks them back one by one
(on 2 cores a 1x64 GRU trained about 3x slower than the LSTM of the same size). This module stacks the layers of
`tsrnn.model.fast.cells` instead: one torch.autograd.Function per layer and direction with a hand-written backward
through time, its buffers reused between training steps (`tsrnn.model.workspace`), and for float32 GRU layers the
time loops compiled when the package is installed (`tsrnn.model.fast.kernel`; where they were not built the same loops
run as torch operations).

The equations are PyTorch's (GRU: r, z, n with b_hn inside r * (W_hn h + b_hn); h' = (1 - z) * n + z * h);
only the rounding differs: in float32 outputs match nn.GRU/nn.RNN within about 1e-6 and gradients within
float32 round-off, in float64 within 1e-12 (tests/unit/model/fast/test_fastrnn.py,
tests/unit/model/fast/test_fastkernel.py).

`recurrent(rnn, x)` is what `RecurrentForecaster` calls: the fast path only while the module trains on the CPU
with gradients on (`applies`); evaluation, inference, tracing and ONNX export call the module itself, so an
exported graph keeps its native RNN/GRU node. The parameters are the module's own (state_dict unchanged), and
dropout between layers draws the same mask as the module. ``TSRNN_FAST_RNN=0`` in the environment, or
`set_enabled(False)` / `enabled(False)`, turns the fast path off (``TSRNN_FAST_KERNEL=0`` only the compiled
loops).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

import tsrnn.model.fast.kernel as fastkernel
from tsrnn.model.fast.cells import GRUFunction, RNNFunction, kernel_for

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
"""batch x hidden above which a GRU without the compiled loops (`tsrnn.model.fast.kernel`) takes the fast path only with
more than one torch thread. On one thread the torch loops were no faster than the standard module there (batch
256, hidden 64: the fast epoch took 1.1-1.3x the standard one); with two they were still 1.2-1.4x faster, and at
batch 32-128 1.2-2x faster with either. The compiled loops were faster at every size measured (batch 256 and 512
on one thread: 1.29x and 1.19x the standard module's speed)."""


def describe(rnn: nn.Module, device: str) -> str | None:
    """How `rnn` trains on `device`, for the training report: None where the fast path does not concern it."""
    if not supports(rnn) or device != "cpu":
        return None
    if not _enabled:
        return "standard module (fast path turned off)"
    if type(rnn) is nn.GRU and next(rnn.parameters()).dtype == torch.float32:
        kernel = fastkernel.load()
        return (
            "GRU fast path, compiled loops"
            if kernel is not None
            else f"GRU fast path, torch loops: {fastkernel.status()}"
        )
    return "RNN fast path" if type(rnn) is nn.RNN else "GRU fast path"


def applies(rnn: nn.Module, x: Tensor) -> bool:
    """Whether `recurrent` takes the fast path: enabled, a supported module in training mode, gradients on,
    float32/float64 tensors on the CPU, batched input, no tracing, scripting, compiling or ONNX export, and a
    size where it is faster (`GRU_WIDE`)."""
    if not (_enabled and supports(rnn) and rnn.training and torch.is_grad_enabled()):
        return False
    if x.dim() != 3 or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return False
    batch = x.shape[0] if getattr(rnn, "batch_first", False) else x.shape[1]
    if (
        type(rnn) is nn.GRU
        and batch * int(getattr(rnn, "hidden_size", 0)) > GRU_WIDE
        and torch.get_num_threads() == 1
        and kernel_for(x, rnn.get_parameter("weight_hh_l0")) is None
    ):
        return False
    if torch.jit.is_scripting() or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return False
    if torch.compiler.is_compiling():
        return False
    params = list(rnn.parameters())
    if not all(p.device.type == "cpu" and p.dtype == x.dtype for p in params):
        return False
    return x.requires_grad or any(p.requires_grad for p in params)


def recurrent(
    rnn: nn.Module, x: Tensor, hx: Tensor | None = None, *, output: bool = True
) -> tuple[Tensor | None, Tensor | tuple[Tensor, Tensor]]:
    """`rnn(x, hx)`, through the fast path where `applies` says so. output=False: the caller needs only the final
    states, and the fast path may return None for the output (a bidirectional last layer then skips joining its
    two directions)."""
    if applies(rnn, x) and (hx is None or isinstance(hx, Tensor)):
        return fast_forward(rnn, x, hx, output=output)
    return rnn(x) if hx is None else rnn(x, hx)


def fast_forward(
    rnn: nn.Module, x: Tensor, hx: Tensor | None = None, *, output: bool = True
) -> tuple[Tensor | None, Tensor]:
    """The fast path itself, whatever the mode: (output, h_n) as nn.GRU/nn.RNN return them for a batched
    input, with dropout between layers when the module trains (output None for a bidirectional module when
    output=False)."""
    if not (supports(rnn) and isinstance(rnn, nn.RNNBase)):
        raise TypeError(f"the fast path supports nn.GRU and nn.RNN (tanh), not {type(rnn).__name__}")
    if x.dim() != 3:
        raise ValueError(f"expected a batched input (3 dimensions), got {x.dim()}")
    fn: Any = GRUFunction if type(rnn) is nn.GRU else RNNFunction
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
        last = layer == rnn.num_layers - 1
        if last and dirs == 2 and not output:
            return None, torch.stack(finals)
        layer_in = outs[0] if dirs == 1 else torch.cat(outs, dim=2)
        if rnn.dropout and rnn.training and not last:
            layer_in = F.dropout(layer_in, rnn.dropout, training=True)
    return (layer_in.transpose(0, 1) if rnn.batch_first else layer_in), torch.stack(finals)
