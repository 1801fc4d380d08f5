"""Writing ONNX graphs: the export of a trained network, graph surgery, baseline graphs, INT8 quantization.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.export.exporter import WIDE_FROM, ExportResult, export_onnx
    from tsrnn.export.quantize import Drift, drift_json, format_drift, int8_path_for, measure_drift, quantize_model

_FACE = {
    "Drift": "tsrnn.export.quantize",
    "ExportResult": "tsrnn.export.exporter",
    "WIDE_FROM": "tsrnn.export.exporter",
    "drift_json": "tsrnn.export.quantize",
    "export_onnx": "tsrnn.export.exporter",
    "format_drift": "tsrnn.export.quantize",
    "int8_path_for": "tsrnn.export.quantize",
    "measure_drift": "tsrnn.export.quantize",
    "quantize_model": "tsrnn.export.quantize",
}

__all__ = [
    "WIDE_FROM",
    "Drift",
    "ExportResult",
    "drift_json",
    "export_onnx",
    "format_drift",
    "int8_path_for",
    "measure_drift",
    "quantize_model",
]


__getattr__ = lazy_face(__name__, _FACE)
