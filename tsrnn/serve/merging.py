"""Requests merged before they are read: the JSON tables of concurrent requests for one model become one table
(each request's series under keys of their own), forecast by one `forecast_frame` call (one pass of the loader,
one ONNX Runtime call), and the forecast table split back. A merged table that fails or warns is forecast again
request by request, so that each answer (its rows, warnings and errors) is the one it would get alone."""

from __future__ import annotations

import dataclasses

import polars as pl

from tsrnn.core.errors import TsrnnError
from tsrnn.data.parquetio import rows_named, rows_text
from tsrnn.runtime.forecastio import ForecastResult, forecast_frame
from tsrnn.runtime.inference import Forecaster

SEP = "\x1f"
"""Between a request's number and a series id in the merged table's ids (ASCII unit separator)."""
NAME = "request"
"""The table's name in messages."""


def mergeable(model: Forecaster, frame: pl.DataFrame, n_series: int) -> bool:
    """Whether a request's table may join others: exactly the model's columns (an extra column could change what
    the loader reads), no id column of ours to clash with, and enough rows to be worth trying (a request too short
    for the model would send the whole merged table back to one request at a time)."""
    columns = model.columns
    if sorted(frame.columns) != sorted(columns):
        return False
    if not model.meta.id_col and "id" in columns:
        return False
    return frame.height >= model.history_len * max(1, n_series)


def forecast_tables(model: Forecaster, frames: list[pl.DataFrame]) -> list[ForecastResult | TsrnnError]:
    """Each table's forecast, or the error it gets alone; tables of one schema (column types) are merged."""
    with rows_named(rows_text):  # messages name the request's rows, numbered from 1, not a file's lines
        return _forecast_tables(model, frames)


def _forecast_tables(model: Forecaster, frames: list[pl.DataFrame]) -> list[ForecastResult | TsrnnError]:
    out: list[ForecastResult | TsrnnError | None] = [None] * len(frames)
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for i, f in enumerate(frames):
        groups.setdefault(tuple(sorted((c, str(t)) for c, t in f.schema.items())), []).append(i)
    for members in groups.values():
        results = _merged(model, [frames[i] for i in members]) if len(members) > 1 else None
        if results is None:
            results = [_alone(model, frames[i]) for i in members]
        for i, r in zip(members, results, strict=True):
            out[i] = r
    return [r for r in out if r is not None]


def _alone(model: Forecaster, frame: pl.DataFrame) -> ForecastResult | TsrnnError:
    try:
        return forecast_frame(model, frame, NAME)
    except TsrnnError as exc:
        return exc


def _merged(model: Forecaster, frames: list[pl.DataFrame]) -> list[ForecastResult | TsrnnError] | None:
    """The tables forecast as one; None when that fails or warns (then each goes alone)."""
    id_col = model.meta.id_col or "id"
    order = model.columns
    keyed = []
    for k, f in enumerate(frames):
        if model.meta.id_col:
            key = pl.concat_str([pl.lit(f"{k}{SEP}"), pl.col(id_col).cast(pl.String).fill_null("")])
        else:
            key = pl.lit(str(k))
        keyed.append(f.select(order).with_columns(key.alias(id_col)))
    try:
        result = forecast_frame(model, pl.concat(keyed, how="vertical"), NAME)
    except TsrnnError:
        return None
    if result.warnings or result.history.id_col != id_col:
        return None
    return _split(model, result, len(frames))


def _split(model: Forecaster, merged: ForecastResult, n: int) -> list[ForecastResult | TsrnnError]:
    """The merged forecast table cut back into each request's rows, with its own ids and its own time format."""
    table = merged.table
    id_col = merged.history.id_col
    assert id_col is not None
    time_col = merged.history.time_col
    if model.meta.id_col:
        parts = table[id_col].str.split_exact(SEP, 1)
        keys = parts.struct.field("field_0").cast(pl.Int64)
        table = table.with_columns(parts.struct.field("field_1").alias(id_col))
    else:
        keys = table[id_col].cast(pl.Int64)
        table = table.drop(id_col)
    out: list[ForecastResult | TsrnnError] = []
    for k in range(n):
        rows = table.filter(keys == k)
        rows = _own_time_format(rows, time_col, merged.history.utc)
        series = rows[id_col].n_unique() if model.meta.id_col else 1
        out.append(dataclasses.replace(merged, table=rows, n_series=series, warnings=[]))
    return out


def _own_time_format(rows: pl.DataFrame, time_col: str, utc: bool) -> pl.DataFrame:
    """Dates where every time of these rows is a midnight, as `format_times` writes a table alone (the merged
    table wrote datetimes when another request's times were not all midnights)."""
    times = rows[time_col]
    if utc or not times.str.ends_with("T00:00:00").all():
        return rows
    return rows.with_columns(times.str.strip_suffix("T00:00:00"))
