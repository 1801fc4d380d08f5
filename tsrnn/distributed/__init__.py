"""Forecasting many series with Dask: the partition plan, the worker, the staged result folder.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.distributed.engine import cluster, forecast_files, run_cli
    from tsrnn.distributed.frame import forecast

_FACE = {
    "cluster": "tsrnn.distributed.engine",
    "forecast": "tsrnn.distributed.frame",
    "forecast_files": "tsrnn.distributed.engine",
    "run_cli": "tsrnn.distributed.engine",
}

__all__ = [
    "cluster",
    "forecast",
    "forecast_files",
    "run_cli",
]


__getattr__ = lazy_face(__name__, _FACE)
