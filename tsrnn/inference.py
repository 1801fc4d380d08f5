"""Deprecated: the model handle lives in `tsrnn.runtime` (`from tsrnn.runtime import Forecaster, forecast_file`).

`Forecaster` here is that handle with the method of earlier releases, `forecast_csv`, which forecasts a file
through `tsrnn.runtime.forecast_file`.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from tsrnn.runtime.forecastio import ForecastResult, forecast_file
from tsrnn.runtime.inference import Forecaster as _Forecaster

warnings.warn(
    "tsrnn.inference is deprecated; import Forecaster and forecast_file from tsrnn.runtime",
    DeprecationWarning,
    stacklevel=2,
)


class Forecaster(_Forecaster):
    """`tsrnn.runtime.Forecaster` with `forecast_csv`, for code written against earlier releases."""

    def forecast_csv(
        self, csv: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, **options: Any
    ) -> ForecastResult:
        """`forecast_file(self, csv, out, ...)`."""
        return forecast_file(self, csv, out, **options)


__all__ = ["ForecastResult", "Forecaster"]
