"""tsrnn's terminal UI: load a CSV, choose a recurrent model, train, export to ONNX and forecast."""

from __future__ import annotations

from typing import Any

__all__ = ["make_app", "run_tui"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import tui` stays cheap (PEP 562).
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
