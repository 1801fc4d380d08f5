"""The compiled GRU loops against torch's GRU: a tiny forward and backward through the fast path with the compiled
loops, compared with nn.GRU (outputs and every gradient). Run by the tests and by `python -m tsrnn.model.fast.parity`
(`make venv` runs it after the build); training itself never runs it.

This module sits above the fast path (`tsrnn.model.fast.cells`, `tsrnn.model.fast.rnn`) and `tsrnn.model.fast.kernel`,
which imports none of them: the check goes through the fast path, so it cannot live below it.
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import Tensor, nn

import tsrnn.model.fast.cells as fastcells
import tsrnn.model.fast.kernel as fastkernel
from tsrnn.model.fast.rnn import fast_forward

TOLERANCE = 1e-4
"""The largest difference from torch's GRU (outputs and gradients) the check accepts: float32 round-off is about
1e-6."""


def selfcheck(kernel: fastkernel.Kernel) -> float:
    """The largest difference between GRU layers through `kernel` and nn.GRU, outputs and every gradient (one layer;
    two bidirectional layers with an initial state): a few milliseconds, in this process, leaving torch's random
    state and grad mode as they were."""
    worst = 0.0
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(0)
        for layers, bidirectional, with_h0 in ((1, False, False), (2, True, True)):
            gru = nn.GRU(3, 16, num_layers=layers, bidirectional=bidirectional)
            x = torch.randn(7, 5, 3, requires_grad=True)
            hx = torch.randn(layers * (1 + bidirectional), 5, 16, requires_grad=True) if with_h0 else None
            worst = max(worst, _difference(gru, x, hx, kernel))
    return worst


def _difference(gru: Any, x: Tensor, hx: Tensor | None, kernel: fastkernel.Kernel) -> float:
    inputs = [x, *gru.parameters(), *([hx] if hx is not None else [])]
    want: list[Tensor] = list(gru(x, hx))
    probe = [torch.randn_like(t) for t in want]
    with fastcells.kernel_override(kernel):
        out, h_n = fast_forward(gru, x, hx)
        assert out is not None
        results = []
        for pair in (want, [out, h_n]):
            loss = torch.stack([(t * p).sum() for t, p in zip(pair, probe, strict=True)]).sum()
            results.append([t.detach() for t in pair] + list(torch.autograd.grad(loss, inputs)))
    return max(float((a - b).abs().max()) for a, b in zip(*results, strict=True))


def refusal(kernel: fastkernel.Kernel) -> str | None:
    """Why `kernel` computes something other than torch's GRU, or None when it matches within TOLERANCE."""
    try:
        worst = selfcheck(kernel)
    except Exception as exc:  # whatever a misbuilt library does short of crashing is reported
        return f"{kernel.path.name} failed its check against torch's GRU ({exc}); {fastkernel.REINSTALL}"
    if not worst < TOLERANCE:
        return f"{kernel.path.name} differs from torch's GRU by {worst:.3g} on its check; {fastkernel.REINSTALL}"
    return None


def main() -> int:
    """Which loops a float32 GRU trains with, and why; where the compiled loops are in use, their check against
    torch's GRU: 1, with the difference on stderr, when they fail it."""
    print(fastkernel.summary())
    kernel = fastkernel.load()
    failed = refusal(kernel) if kernel is not None else None
    if failed:
        print(
            f"the compiled GRU loops must not train: {failed} (TSRNN_FAST_KERNEL=0 keeps the torch loops)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":  # python -m tsrnn.model.fast.parity: `make venv` runs it after the build
    raise SystemExit(main())
