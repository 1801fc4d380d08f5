"""Data in and out: CSV and Parquet reading, validation, the regular grid of a series set, future rows, windows.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.data.csvio import read_header
    from tsrnn.data.future import horizon_values
    from tsrnn.data.loader import demo_path, load_raw, load_series, resolve_demo
    from tsrnn.data.outputs import Output, check_outputs
    from tsrnn.data.parquetio import (
        ParquetSource,
        is_parquet,
        is_parquet_name,
        parquet_files,
        parquet_sink,
        raw_from_frame,
        read_plan,
        rows_named,
        rows_text,
        time_column,
        typed_times,
        write_parquet,
    )
    from tsrnn.data.seriesset import SeriesSet
    from tsrnn.data.windows import Split, bridge_for, default_val_len, long_gap_rows, rows_needed, split_series

_FACE = {
    "Output": "tsrnn.data.outputs",
    "ParquetSource": "tsrnn.data.parquetio",
    "SeriesSet": "tsrnn.data.seriesset",
    "Split": "tsrnn.data.windows",
    "bridge_for": "tsrnn.data.windows",
    "check_outputs": "tsrnn.data.outputs",
    "default_val_len": "tsrnn.data.windows",
    "demo_path": "tsrnn.data.loader",
    "horizon_values": "tsrnn.data.future",
    "is_parquet": "tsrnn.data.parquetio",
    "is_parquet_name": "tsrnn.data.parquetio",
    "load_raw": "tsrnn.data.loader",
    "load_series": "tsrnn.data.loader",
    "long_gap_rows": "tsrnn.data.windows",
    "parquet_files": "tsrnn.data.parquetio",
    "parquet_sink": "tsrnn.data.parquetio",
    "raw_from_frame": "tsrnn.data.parquetio",
    "read_header": "tsrnn.data.csvio",
    "read_plan": "tsrnn.data.parquetio",
    "resolve_demo": "tsrnn.data.loader",
    "rows_named": "tsrnn.data.parquetio",
    "rows_needed": "tsrnn.data.windows",
    "rows_text": "tsrnn.data.parquetio",
    "split_series": "tsrnn.data.windows",
    "time_column": "tsrnn.data.parquetio",
    "typed_times": "tsrnn.data.parquetio",
    "write_parquet": "tsrnn.data.parquetio",
}

__all__ = [
    "Output",
    "ParquetSource",
    "SeriesSet",
    "Split",
    "bridge_for",
    "check_outputs",
    "default_val_len",
    "demo_path",
    "horizon_values",
    "is_parquet",
    "is_parquet_name",
    "load_raw",
    "load_series",
    "long_gap_rows",
    "parquet_files",
    "parquet_sink",
    "raw_from_frame",
    "read_header",
    "read_plan",
    "resolve_demo",
    "rows_named",
    "rows_needed",
    "rows_text",
    "split_series",
    "time_column",
    "typed_times",
    "write_parquet",
]


__getattr__ = lazy_face(__name__, _FACE)
