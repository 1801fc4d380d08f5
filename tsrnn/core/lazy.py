"""The lazy public face of a subpackage: its `__init__` maps each name other layers use to the module that
defines it, and the module is imported only when the name is first read (PEP 562's module `__getattr__`), so that
importing a subpackage loads nothing heavy. Standard library only."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_face(package: str, face: dict[str, str]) -> Callable[[str], Any]:
    """The `__getattr__` of `package`: a name of `face` read from the module that `face` names for it."""

    def attribute(name: str) -> Any:
        if name not in face:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(face[name]), name)

    return attribute
