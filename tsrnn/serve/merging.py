"""Requests merged before they are read: the tables of concurrent requests for one model become one table (each
request's series under keys of their own), read once, forecast by one ONNX Runtime call, and the forecast table
split back. Plain requests (`Plain`: the loader's express lane) are merged as columns, the others as polars
tables read by the full loader (`forecast_frame`). A merged table that fails or warns is forecast again request by
request, so that each answer (its rows, warnings and errors) is the one it would get alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from tsrnn.core.errors import TsrnnError
from tsrnn.data.express import express_series
from tsrnn.data.loader import SeriesSet
from tsrnn.data.parquetio import rows_named, rows_text
from tsrnn.runtime.forecastio import ForecastResult, forecast_frame, forecast_series, in_zone
from tsrnn.runtime.inference import Forecaster

SEP = "\x1f"
"""Between a request's number and a series id in the merged table's ids (ASCII unit separator)."""
NAME = "request"
"""The table's name in messages."""


@dataclass
class Plain:
    """A JSON request's table as columns of JSON values, with exactly the model's columns (no future ones): read
    by the loader's express lane, or by the full loader (`frame()`) when the lane steps aside."""

    columns: dict[str, list[Any]]
    frame: Callable[[], pl.DataFrame]
    """The table as the full loader reads it."""

    @property
    def height(self) -> int:
        return len(next(iter(self.columns.values()), []))


def plain(model: Forecaster, columns: dict[str, list[Any]]) -> bool:
    """Whether a request's columns may go the express lane: exactly the model's, and no future column (whose
    horizon values the full loader reads from the table)."""
    return not model.meta.future and set(columns) == set(model.columns)


def express(model: Forecaster, columns: dict[str, list[Any]], id_col: str | None = None) -> SeriesSet | None:
    """The series of `columns` (the model's) through the loader's express lane, or None when it steps aside;
    `id_col` reads the series ids from that column (merged requests' keys) when the model has none."""
    meta = model.meta
    cfg = model.data_config()
    if id_col is not None:
        cfg = dataclasses.replace(cfg, id_col=id_col)
    ids = columns[cfg.id_col] if cfg.id_col else None
    values = {c: v for c, v in columns.items() if c not in (meta.time_col, cfg.id_col)}
    return express_series(cfg, NAME, columns[meta.time_col], ids, values)


def forecast_plain(model: Forecaster, request: Plain) -> ForecastResult:
    """One plain request alone: the express lane, else the full loader."""
    data = express(model, request.columns)
    if data is None:
        return forecast_frame(model, request.frame(), NAME)
    return forecast_series(model, in_zone(model, data), None, True)


def mergeable(model: Forecaster, table: pl.DataFrame | Plain, n_series: int) -> bool:
    """Whether a request's table may join others: exactly the model's columns (an extra column could change what
    the loader reads), no id column of ours to clash with, and enough rows to be worth trying (a request too short
    for the model would send the whole merged table back to one request at a time)."""
    columns = model.columns
    if sorted(table.columns) != sorted(columns):
        return False
    if not model.meta.id_col and "id" in columns:
        return False
    return table.height >= model.history_len * max(1, n_series)


def forecast_tables(model: Forecaster, frames: list[pl.DataFrame | Plain]) -> list[ForecastResult | TsrnnError]:
    """Each table's forecast, or the error it gets alone; plain requests are merged together, and polars tables
    of one schema (column types)."""
    with rows_named(rows_text):  # messages name the request's rows, numbered from 1, not a file's lines
        return _forecast_tables(model, frames)


def _forecast_tables(model: Forecaster, frames: list[pl.DataFrame | Plain]) -> list[ForecastResult | TsrnnError]:
    out: list[ForecastResult | TsrnnError | None] = [None] * len(frames)
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for i, f in enumerate(frames):
        key = (("", "plain"),) if isinstance(f, Plain) else tuple(sorted((c, str(t)) for c, t in f.schema.items()))
        groups.setdefault(key, []).append(i)
    for members in groups.values():
        group = [frames[i] for i in members]
        if isinstance(group[0], Plain):
            results = _plain_group(model, [f for f in group if isinstance(f, Plain)])
        else:
            tables = [f for f in group if isinstance(f, pl.DataFrame)]
            merged = _merged(model, tables) if len(tables) > 1 else None
            results = merged if merged is not None else [_alone(model, f) for f in tables]
        for i, r in zip(members, results, strict=True):
            out[i] = r
    return [r for r in out if r is not None]


def _plain_group(model: Forecaster, plains: list[Plain]) -> list[ForecastResult | TsrnnError]:
    """Plain requests merged through the express lane; when the lane steps aside for the merged table (a value
    as text in one of them, say), their tables go through the full loader, merged by schema."""
    if len(plains) == 1:
        return [_alone(model, plains[0])]
    try:
        data = express(model, _keyed_columns(model, plains), model.meta.id_col or "id")
    except TsrnnError:
        return [_alone(model, p) for p in plains]
    if data is None:
        return _forecast_tables(model, [p.frame() for p in plains])
    results = _finished(model, lambda: forecast_series(model, in_zone(model, data), None, True), len(plains))
    return results if results is not None else [_alone(model, p) for p in plains]


def _alone(model: Forecaster, frame: pl.DataFrame | Plain) -> ForecastResult | TsrnnError:
    try:
        return forecast_plain(model, frame) if isinstance(frame, Plain) else forecast_frame(model, frame, NAME)
    except TsrnnError as exc:
        return exc


def _merged(model: Forecaster, frames: list[pl.DataFrame]) -> list[ForecastResult | TsrnnError] | None:
    """Tables of one schema forecast as one; None when that fails or warns (then each goes alone)."""
    return _finished(model, lambda: forecast_frame(model, _keyed_frame(model, frames), NAME), len(frames))


def _finished(
    model: Forecaster, forecast: Callable[[], ForecastResult], n: int
) -> list[ForecastResult | TsrnnError] | None:
    """The merged forecast split back into its `n` requests' answers; None when it fails or warns."""
    id_col = model.meta.id_col or "id"
    try:
        result = forecast()
    except TsrnnError:
        return None
    if result.warnings or result.history.id_col != id_col:
        return None
    return _split(model, result, n)


def _keyed_frame(model: Forecaster, frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The tables one under the other, each series' id prefixed by its request's number (or the number alone)."""
    id_col = model.meta.id_col or "id"
    keyed = []
    for k, f in enumerate(frames):
        if model.meta.id_col:
            key = pl.concat_str([pl.lit(f"{k}{SEP}"), pl.col(id_col).cast(pl.String).fill_null("")])
        else:
            key = pl.lit(str(k))
        keyed.append(f.select(model.columns).with_columns(key.alias(id_col)))
    return pl.concat(keyed, how="vertical")


def _keyed_columns(model: Forecaster, plains: list[Plain]) -> dict[str, list[Any]]:
    """`_keyed_frame` for plain requests' columns: an id that is not text stays as it is (the express lane then
    steps aside, and each request goes alone)."""
    meta = model.meta
    id_col = meta.id_col or "id"
    merged: dict[str, list[Any]] = {c: [] for c in model.columns if c != id_col}
    ids: list[Any] = []
    for k, p in enumerate(plains):
        for c, cells in merged.items():
            cells.extend(p.columns[c])
        if meta.id_col:
            ids.extend(f"{k}{SEP}{i}" if type(i) is str else i for i in p.columns[id_col])
        else:
            ids.extend([str(k)] * len(p.columns[meta.time_col]))
    merged[id_col] = ids
    return merged


def _split(model: Forecaster, merged: ForecastResult, n: int) -> list[ForecastResult | TsrnnError] | None:
    """The merged forecast table cut back into each request's rows, with its own ids and its own time format. The
    rows come request after request (series keep the order they first appear in), so each request's rows are one
    slice of the table; None if they do not (then each request goes alone)."""
    table = merged.table
    id_col = merged.history.id_col
    assert id_col is not None
    time_col = merged.history.time_col
    request_of = [int(sid.split(SEP, 1)[0]) for sid in merged.history.ids]  # each series' request
    if model.meta.id_col:
        table = table.with_columns(table[id_col].str.split_exact(SEP, 1).struct.field("field_1").alias(id_col))
    else:
        table = table.drop(id_col)
    per_series = table.height // max(1, merged.n_series)
    series = np.bincount(np.asarray(request_of, dtype=np.int64), minlength=n)
    if np.any(np.diff(request_of) < 0) or len(series) != n:
        return None
    bounds = np.concatenate([[0], np.cumsum(series)]) * per_series
    midnight = None
    if not merged.history.utc:  # dates where all of a request's times are midnights, as a table alone writes them
        at_midnight = table[time_col].str.ends_with("T00:00:00").to_numpy()
        midnight = at_midnight if at_midnight.any() else None
    out: list[ForecastResult | TsrnnError] = []
    for k in range(n):
        a, b = int(bounds[k]), int(bounds[k + 1])
        rows = table.slice(a, b - a)
        if midnight is not None and b > a and midnight[a:b].all():
            rows = rows.with_columns(rows[time_col].str.strip_suffix("T00:00:00"))
        out.append(ForecastResult(rows, merged.provider, merged.latency_ms, int(series[k]), merged.history))
    return out
