"""Forecasting from a model file with ONNX Runtime: sessions, the Forecaster, forecast tables. Never torch.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.runtime.forecastio import ForecastResult, forecast_file, output_table, save_table, window_inputs
    from tsrnn.runtime.inference import Forecaster
    from tsrnn.runtime.session import available_cores

_FACE = {
    "ForecastResult": "tsrnn.runtime.forecastio",
    "Forecaster": "tsrnn.runtime.inference",
    "available_cores": "tsrnn.runtime.session",
    "output_table": "tsrnn.runtime.forecastio",
    "forecast_file": "tsrnn.runtime.forecastio",
    "save_table": "tsrnn.runtime.forecastio",
    "window_inputs": "tsrnn.runtime.forecastio",
}

__all__ = [
    "ForecastResult",
    "Forecaster",
    "available_cores",
    "forecast_file",
    "output_table",
    "save_table",
    "window_inputs",
]


__getattr__ = lazy_face(__name__, _FACE)
