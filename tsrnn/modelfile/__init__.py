"""The model file: the metadata an .onnx file carries, its schema, and the scan of an untrusted file.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsrnn.modelfile.artifact import ModelMeta, quantile_column
    from tsrnn.modelfile.modelcheck import check_model_bytes

_FACE = {
    "ModelMeta": "tsrnn.modelfile.artifact",
    "check_model_bytes": "tsrnn.modelfile.modelcheck",
    "quantile_column": "tsrnn.modelfile.artifact",
}

__all__ = [
    "ModelMeta",
    "check_model_bytes",
    "quantile_column",
]


def __getattr__(name: str) -> Any:
    if name not in _FACE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_FACE[name]), name)
