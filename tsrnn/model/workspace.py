"""Reusable buffers for the CPU training fast path (`tsrnn.model.fast.cells`).

Every training step of a recurrent layer needs the same dozen tensors of a few hundred kilobytes to a few
megabytes (gates, states, gradients through time). Allocated afresh each step, glibc hands them out from newly
mapped pages and returns them to the system afterwards, so every step pays a page fault per 4 KiB touched: on the
machine measured that was about half of a 1x64 GRU's training step at batch 32 (docs/performance.md). A
`Workspace` is one block of memory carved into those tensors, with the per-time-step views made once, kept in a
small pool and lent to one layer's forward and backward at a time.

A workspace is lent out (`take`) only when it is idle: not between a forward and its backward (`Workspace.busy`,
set by `take` and cleared by `give_back` or when the autograd node that holds the lease is freed), and with no view
of its memory held elsewhere (a layer's output returned to the caller is such a view: while anyone keeps it, the
workspace stays out of use). `release()` empties the pool; `tsrnn.model.train.fit` calls it when training ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

POOL_PER_SHAPE = 4
"""Workspaces kept per shape: one per layer and direction of the same shape in use at once (a stacked GRU's
upper layers share a shape)."""
POOL_BYTES = 256 << 20
"""Memory the pool may keep in all; a workspace beyond it is used once and freed."""
_ALIGN = 16
"""Each buffer starts on a multiple of this many elements (64 bytes in float32)."""

_lock = threading.Lock()
_pools: dict[tuple[Any, ...], list[Workspace]] = {}


class Workspace:
    """Named buffers carved from one block, and whatever per-step views the layer function attaches."""

    def __init__(self, dtype: torch.dtype, shapes: Mapping[str, Sequence[int]], own: Sequence[str] = ()) -> None:
        """`own`: buffers allocated on their own rather than carved from the block. A layer's output must be one:
        views of one block share its version counter, and autograd refuses an output whose base changed in place
        (which every other buffer of the block does during backward)."""
        sizes = {name: _numel(shape) for name, shape in shapes.items()}
        total = sum(-(-n // _ALIGN) * _ALIGN for name, n in sizes.items() if name not in own)
        block = torch.empty(total, dtype=dtype)
        offset = 0
        self.buffers: dict[str, Tensor] = {}
        for name, shape in shapes.items():
            if name in own:
                self.buffers[name] = torch.empty(*shape, dtype=dtype)
                continue
            self.buffers[name] = block[offset : offset + sizes[name]].view(*shape)
            offset += -(-sizes[name] // _ALIGN) * _ALIGN
        self._roots = [block, *(self.buffers[name] for name in own)]
        self.nbytes = sum(t.numel() * t.element_size() for t in self._roots)
        self.views: dict[str, Any] = {}
        self.busy = False
        self.lease = 0
        self._idle_counts: list[int] | None = None

    def __getitem__(self, name: str) -> Tensor:
        return self.buffers[name]

    def seal(self) -> None:
        """Record how many references to its memory the workspace itself holds (after its views are made)."""
        self._idle_counts = [_use_count(t) for t in self._roots]

    def idle(self) -> bool:
        if self.busy or self._idle_counts is None:
            return False
        return all(_use_count(t) == n for t, n in zip(self._roots, self._idle_counts, strict=True))


class Lease:
    """Held by one layer's autograd node from forward to backward: `give_back` at the end of backward, or the
    node's release if backward never comes, returns the workspace to the pool."""

    __slots__ = ("number", "workspace")

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        workspace.lease += 1
        self.number = workspace.lease

    def give_back(self) -> None:
        ws = self.workspace
        if ws.lease == self.number:
            ws.busy = False

    def __del__(self) -> None:
        self.give_back()


def take(key: tuple[Any, ...], build: Callable[[], Workspace]) -> Lease:
    """An idle workspace for `key` from the pool, or a new one from `build` (kept in the pool while it has room),
    lent out until its lease is given back."""
    with _lock:
        pool = _pools.setdefault(key, [])
        ws = next((w for w in pool if w.idle()), None)
        if ws is None:
            ws = build()
            if len(pool) < POOL_PER_SHAPE and pooled_bytes() + ws.nbytes <= POOL_BYTES:
                ws.seal()
                pool.append(ws)
        ws.busy = True
        return Lease(ws)


def pooled_bytes() -> int:
    return sum(w.nbytes for pool in _pools.values() for w in pool)


def release() -> None:
    """Forget every pooled workspace (those still lent out are freed when their layers are done with them)."""
    with _lock:
        _pools.clear()


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _use_count(t: Tensor) -> int:
    return torch._C._storage_Use_Count(t.untyped_storage()._cdata)
