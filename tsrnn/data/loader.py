"""Load a CSV into validated, gap-filled series on a regular grid (polars and numpy, never torch).

The loader is a pipeline of stages with one job each, every one in its own module: choose the columns and read
the values as numbers (`tsrnn.data.columns`); parse the times, sort the rows and infer the frequency or the session
calendar (`tsrnn.data.rows`); lay each series on its grid and fill the gaps (`tsrnn.data.gaps`); make the series set
(`tsrnn.data.seriesset`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import tsrnn.timeline.grid as grid
from tsrnn.core.config import DataConfig
from tsrnn.data.columns import ID_NAMES, Table, choose_columns
from tsrnn.data.csvio import read_header, read_raw
from tsrnn.data.gaps import fill_gaps, lay_grid
from tsrnn.data.parquetio import ParquetSource, is_parquet, read_plan
from tsrnn.data.rawtable import RawTable
from tsrnn.data.rows import Rows, parse_rows
from tsrnn.data.seriesset import SeriesSet as SeriesSet
from tsrnn.timeline.timefreq import TIME_NAMES


def resolve_demo(path: str | os.PathLike[str]) -> Path:
    """'demo' means the bundled airline passengers file."""
    if str(path) == "demo":
        return demo_path()
    return Path(path)


def demo_path() -> Path:
    return Path(__file__).parents[1] / "datasets" / "airline_passengers.csv"


def load_series(path: str | os.PathLike[str], config: DataConfig | None = None) -> SeriesSet:
    """Read, validate and regularise a CSV time series, in five stages with one job each: read the table; parse
    the times and infer the frequency or the session calendar; lay each series on its grid; fill the gaps;
    make the series set."""
    cfg = config or DataConfig()
    file = resolve_demo(path)
    if file.suffix.lower() not in (".csv", ".tsv", ".txt") and is_parquet(file):
        return load_parquet(file, cfg)  # a Parquet file, folder or glob: read lazily, then the same stages
    return _stages(read_table(file, cfg), cfg)


def load_raw(raw: RawTable, config: DataConfig | None = None) -> SeriesSet:
    """`load_series` for a table already read (a Parquet data set, one partition of a larger one)."""
    cfg = config or DataConfig()
    return _stages(choose_columns(raw, cfg), cfg)


def load_parquet(path: str | os.PathLike[str], cfg: DataConfig) -> SeriesSet:
    """`tsrnn.data.loader.load_series` for Parquet data: the same stages and checks after the read."""
    source = ParquetSource.open(path)
    plan = read_plan(source, cfg)
    with source.rows_described():
        raw = source.read(plan.columns, ids=plan.ids)
        return load_raw(raw, cfg)


def _stages(table: Table, cfg: DataConfig) -> SeriesSet:
    return lay_series(table, parse_rows(table, cfg), cfg)


def lay_series(table: Table, rows: Rows, cfg: DataConfig) -> SeriesSet:
    """Stages 3 to 5 once the rows are parsed and sorted: lay each series on its grid, fill the gaps, make the
    series set."""
    flat = lay_grid(rows, table)
    fill_gaps(flat, table, rows.names, cfg.max_gap)
    return series_set(table, rows, flat)


def read_table(file: Path, cfg: DataConfig) -> Table:
    """Read the CSV and choose its columns: time, id, targets and features (values as float64)."""
    header = read_header(file)
    ids = [c for c in header if (c == cfg.id_col or c.lower() in ID_NAMES) and c != cfg.time_col]
    raw = read_raw(file, typed=True, ids=ids, times=[c for c in header if c == cfg.time_col or c.lower() in TIME_NAMES])
    return choose_columns(raw, cfg)


def series_set(table: Table, rows: Rows, flat: grid.Flat) -> SeriesSet:
    """The loaded series, one array each; known-in-advance columns apart from the values."""
    out_times, out_values = flat.split()
    filled = None
    if flat.filled is not None and flat.filled.any():
        filled = np.split(flat.filled, flat.offsets[1:-1])
    future = None
    if table.future:
        C = len(table.targets) + len(table.features)
        future = [np.ascontiguousarray(v[:, C:]) for v in out_values]
        out_values = [np.ascontiguousarray(v[:, :C]) for v in out_values]
    return SeriesSet(
        table.raw.path,
        table.time_col,
        table.id_col,
        table.targets,
        table.features,
        rows.freq,
        rows.utc,
        [str(x) for x in rows.names],
        out_times,
        out_values,
        table.report,
        table.raw.preview,
        filled,
        future_names=list(table.future),
        future=future,
    )
