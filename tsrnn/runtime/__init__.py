"""Forecasting from a model file with ONNX Runtime: sessions, the Forecaster, forecast tables. Never torch.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsrnn.runtime.forecastio import output_table
    from tsrnn.runtime.inference import Forecaster, ForecastResult, save_table
    from tsrnn.runtime.session import available_cores

_FACE = {
    "ForecastResult": "tsrnn.runtime.inference",
    "Forecaster": "tsrnn.runtime.inference",
    "available_cores": "tsrnn.runtime.session",
    "output_table": "tsrnn.runtime.forecastio",
    "save_table": "tsrnn.runtime.inference",
}

__all__ = [
    "ForecastResult",
    "Forecaster",
    "available_cores",
    "output_table",
    "save_table",
]


def __getattr__(name: str) -> Any:
    if name not in _FACE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_FACE[name]), name)
