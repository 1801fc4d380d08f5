"""The CPU training fast path of GRU and simple RNN layers (torch), with the compiled GRU loops.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

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


__getattr__ = lazy_face(__name__, _FACE)
