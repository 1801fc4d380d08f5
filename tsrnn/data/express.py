"""The loader's express lane for a small table already in memory as Python values (a server's JSON request):
when every cell is plainly what the loader would make of it (ISO times in one form, numbers, text ids, each
series in one run), its first two stages are done here without building a polars frame, and the rest of the
stages (`tsrnn.data.rows.settle_rows`, `tsrnn.data.loader.lay_series`) are the loader's own, so the series, the
checks and the messages are those `load_series` gives. Anything else (an empty cell, a NaN, another time format,
a number as an id) returns None, and the caller reads the table with the full loader."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tsrnn.core.config import DataConfig
from tsrnn.data.columns import Table
from tsrnn.data.loader import SeriesSet, lay_series
from tsrnn.data.rawtable import RawTable
from tsrnn.data.rows import settle_rows
from tsrnn.data.seriesset import LoadReport

_FORMS = (
    (re.compile(r"(?:\d{4}-\d{2}-\d{2}\n)*\d{4}-\d{2}-\d{2}"), "datetime64[D]"),
    (re.compile(r"(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\n)*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"), "datetime64[s]"),
    (re.compile(r"(?:\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\n)*\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"), "datetime64[s]"),
)
"""The time forms taken (every time of a table in one of them, matched on the times joined by newlines): dates,
and local datetimes to the second."""
LIMIT = float(np.finfo(np.float32).max)
"""Values beyond float32 are the loader's to refuse."""
NUMBER = {int, float}
_EMPTY = pl.DataFrame()
"""The raw table's cells and preview: the lane keeps no polars table (later stages replace, never change, it)."""


def express_series(
    cfg: DataConfig,
    name: str,
    times: Sequence[Any],
    ids: Sequence[Any] | None,
    channels: Mapping[str, Sequence[Any]],
) -> SeriesSet | None:
    """The series `load_series` would give for a table of these columns (`channels`: every target, feature and
    future column of `cfg`, in any order; `ids` when `cfg` has an id column), or None when the table needs the
    full loader. Errors of the shared stages (duplicated times, a step off the grid) are raised as the loader
    raises them."""
    n = len(times)
    order = [*cfg.targets, *(cfg.features if isinstance(cfg.features, tuple) else ()), *cfg.future]
    if (
        not n
        or cfg.time_col is None
        or cfg.features == "all"
        or sorted(channels) != sorted(order)
        or len(set(order)) != len(order)
        or any(len(v) != n for v in channels.values())
        or (ids is None) != (cfg.id_col is None)
    ):
        return None
    stamps = _times(times)
    if stamps is None:
        return None
    values = _values([channels[c] for c in order])
    if values is None:
        return None
    runs = _runs(ids, n)
    if runs is None:
        return None
    names, codes = runs
    lines = np.arange(1, n + 1, dtype=np.int64)
    raw = RawTable(Path(name), _EMPTY, lines, ",", _EMPTY)
    report = LoadReport(rows=n, filled_cells=dict.fromkeys(order, 0))
    targets = list(cfg.targets)
    features = [c for c in order if c not in targets and c not in cfg.future]
    table = Table(raw, cfg.time_col, cfg.id_col, targets, features, np.zeros((0, len(order))), report, list(cfg.future))
    rows = settle_rows(table, cfg, codes, stamps, values, lines, names, False)
    return lay_series(table, rows, cfg)


def _times(times: Sequence[Any]) -> np.ndarray | None:
    """datetime64[us] of text times all in one of `_FORMS`, or None."""
    if not all(type(t) is str for t in times):
        return None
    text = "\n".join(times)
    for form, unit in _FORMS:
        if form.fullmatch(text):
            try:
                return np.array(times, dtype=unit).astype("datetime64[us]")
            except ValueError:  # a day or an hour out of range: the loader names the row
                return None
    return None


def _values(columns: list[Sequence[Any]]) -> np.ndarray | None:
    """(rows, columns) float64 of finite JSON numbers within float32's range, or None."""
    for col in columns:
        if not set(map(type, col)) <= NUMBER:  # no bool (a subclass of int), None, text or list
            return None
    try:
        values = np.array(columns, dtype=np.float64).T
    except OverflowError:  # an integer beyond any float
        return None
    if not np.isfinite(values).all() or np.abs(values).max(initial=0.0) > LIMIT:
        return None
    return np.ascontiguousarray(values)


def _runs(ids: Sequence[Any] | None, n: int) -> tuple[list[str], np.ndarray] | None:
    """The series names and each row's series number, for text ids written series after series; None for
    anything else."""
    if ids is None:
        return [""], np.zeros(n, dtype=np.int64)
    if not all(type(i) is str for i in ids):
        return None
    starts = [0, *(k for k in range(1, n) if ids[k] != ids[k - 1])]
    names = [ids[k] for k in starts]
    if len(set(names)) != len(names):
        return None
    lengths = np.diff([*starts, n])
    return names, np.repeat(np.arange(len(names), dtype=np.int64), lengths)
