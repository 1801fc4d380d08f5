"""The CPU training fast path of GRU and simple RNN layers (torch), with the compiled GRU loops.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsrnn.model.fast.kernel import summary
    from tsrnn.model.fast.rnn import recurrent

_FACE = {
    "recurrent": "tsrnn.model.fast.rnn",
    "summary": "tsrnn.model.fast.kernel",
}

__all__ = [
    "recurrent",
    "summary",
]


def __getattr__(name: str) -> Any:
    if name not in _FACE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_FACE[name]), name)
