"""The command line: the parser, the commands, their options and their reports.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

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


__getattr__ = lazy_face(__name__, _FACE)
