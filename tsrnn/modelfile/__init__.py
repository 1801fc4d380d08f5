"""The model file: the metadata an .onnx file carries, its schema, and the scan of an untrusted file.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

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


__getattr__ = lazy_face(__name__, _FACE)
