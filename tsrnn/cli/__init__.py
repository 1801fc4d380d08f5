"""The command line: the parser, the commands, their options and their reports.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsrnn.cli.commands import entry, main

_FACE = {
    "entry": "tsrnn.cli.commands",
    "main": "tsrnn.cli.commands",
}

__all__ = [
    "entry",
    "main",
]


def __getattr__(name: str) -> Any:
    if name not in _FACE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_FACE[name]), name)
