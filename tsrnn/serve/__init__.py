"""Forecasts over HTTP (`tsrnn serve`): the routes, dynamic batching, reloads, the token check and the metrics.
ONNX Runtime through tsrnn.runtime; never torch, never onnx.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.serve.app import make_app
    from tsrnn.serve.batching import Batcher
    from tsrnn.serve.bodies import Limits
    from tsrnn.serve.models import Models
    from tsrnn.serve.server import ServeOptions, serve

_FACE = {
    "Batcher": "tsrnn.serve.batching",
    "Limits": "tsrnn.serve.bodies",
    "Models": "tsrnn.serve.models",
    "ServeOptions": "tsrnn.serve.server",
    "make_app": "tsrnn.serve.app",
    "serve": "tsrnn.serve.server",
}

__all__ = ["Batcher", "Limits", "Models", "ServeOptions", "make_app", "serve"]


__getattr__ = lazy_face(__name__, _FACE)
