"""A forecast request's body as the table `tsrnn forecast` reads, and the forecast as the body of the answer: JSON
(rows, or series of timestamps and values), CSV or Parquet in; JSON, CSV or Parquet out (polars; never torch)."""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from tsrnn.core.errors import TsrnnError
from tsrnn.data.parquetio import rows_named, rows_text, typed_times
from tsrnn.runtime.forecastio import (
    ForecastResult,
    Predict,
    forecast_frame,
    forecast_json,
    forecast_series,
    load_history,
    refuse_future_file,
)
from tsrnn.runtime.inference import Forecaster
from tsrnn.serve.merging import NAME, Plain, forecast_plain, forecast_tables, mergeable, plain

JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
PARQUET_TYPES = (PARQUET, "application/parquet", "application/x-parquet")
"""Media types taken as Parquet (the registered one first)."""


class RequestError(TsrnnError):
    """A request the server cannot take as it stands; `status` is the HTTP status of the answer."""

    title = "Bad request"

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Limits:
    """What one request may hold."""

    max_body: int = 16 << 20
    """Bytes of a request body."""
    max_series: int = 10_000
    """Series in one forecast request."""


def media_type(header: str | None) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'."""
    return (header or "").split(";")[0].strip().lower()


def answer_type(accept: str | None) -> str:
    """The answer's media type for an Accept header: JSON unless CSV or Parquet is asked for first."""
    if not accept:
        return JSON
    for part in accept.split(","):
        kind = media_type(part)
        if kind in (JSON, "*/*", "application/*", ""):
            return JSON
        if kind in (CSV, "text/*"):
            return CSV
        if kind in PARQUET_TYPES:
            return PARQUET
    raise RequestError(
        f"cannot answer as {accept}: ask for {JSON} (default), {CSV} or {PARQUET} in the Accept header", 406
    )


class Runner(Protocol):
    """How a request's forecast runs: its windows through a (merged) model call, or its whole table through a
    (merged) forecast. `tsrnn.serve.batching.Ticket` batches; `Direct` runs each request alone."""

    def predict(self, history: np.ndarray, known: np.ndarray | None) -> dict[str, np.ndarray]: ...

    def forecast_table(self, table: pl.DataFrame | Plain, series: int) -> ForecastResult: ...


class Direct:
    """No batching: the model's own call, and each table forecast alone."""

    def __init__(self, model: Forecaster) -> None:
        self.model = model

    def predict(self, history: np.ndarray, known: np.ndarray | None) -> dict[str, np.ndarray]:
        return self.model.predict_outputs(history, known)

    def forecast_table(self, table: pl.DataFrame | Plain, series: int) -> ForecastResult:
        (result,) = forecast_tables(self.model, [table])
        if isinstance(result, TsrnnError):
            raise result
        return result


def forecast_body(model: Forecaster, body: bytes, content_type: str, limits: Limits, runner: Runner) -> ForecastResult:
    """Forecast the series of a request body exactly as `tsrnn forecast` would forecast a file holding them. A JSON
    table with exactly the model's columns may be merged with other requests' (`tsrnn.serve.merging`: a plain one
    read by the loader's express lane); the rest runs alone, its windows through `runner.predict`."""
    kind = media_type(content_type) or JSON
    if kind == JSON:
        request = parse_json(body)
        columns, key = request_columns(model, request)
        n = count_series(model, columns, limits)
        allow = _flag(request, "allow_freq_mismatch")
        future = future_table(model, request)
        with rows_named(rows_text):  # messages name the request's rows, numbered from 1, not a file's lines
            if future is None and not allow and plain(model, columns):
                table = Plain(columns, lambda: _table(columns, key, _text(model)))
                return runner.forecast_table(table, n) if mergeable(model, table, n) else forecast_plain(model, table)
            frame = _table(columns, key, _text(model))
            if future is None and not allow and mergeable(model, frame, n):
                return runner.forecast_table(frame, n)
            return forecast_frame(model, frame, NAME, future, allow_freq_mismatch=allow, predict=runner.predict)
    if kind in (CSV, "text/plain") or kind in PARQUET_TYPES:
        suffix = ".csv" if kind in (CSV, "text/plain") else ".parquet"
        return _forecast_file_body(model, body, f"{NAME}{suffix}", limits, runner.predict)
    raise RequestError(f"cannot read a {kind} body: send {JSON}, {CSV} or {PARQUET} (Content-Type header)", 415)


def _forecast_file_body(model: Forecaster, body: bytes, name: str, limits: Limits, predict: Predict) -> ForecastResult:
    """A CSV or Parquet body read by the same reader as a file (its checks and messages), from a private folder
    removed at the end."""
    with tempfile.TemporaryDirectory(prefix="tsrnn-serve-") as folder:
        path = Path(folder) / name
        path.write_bytes(body)
        data = load_history(model, path)
        check_series(data.n_series, limits)
        return forecast_series(model, data, path, same_file=True, predict=predict)


def check_series(n: int, limits: Limits) -> None:
    if n > limits.max_series:
        raise RequestError(
            f"the request holds {n} series; this server forecasts at most {limits.max_series} per request "
            "(--max-series): split it",
            413,
        )


def parse_json(body: bytes) -> dict[str, Any]:
    """A JSON object, or a RequestError that says where the JSON breaks."""
    try:
        request = json.loads(body)
    except UnicodeDecodeError:
        raise RequestError("the request body is not UTF-8 text; send JSON encoded as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise RequestError(
            f"the request body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise RequestError("the request body nests too deeply to read; send rows or series") from None
    if not isinstance(request, dict):
        raise RequestError(f"the request body is a JSON {_kind(request)}; send an object with 'rows' or 'series'")
    return request


def json_tables(
    model: Forecaster, request: dict[str, Any], limits: Limits
) -> tuple[pl.DataFrame, pl.DataFrame | None, int]:
    """The request's table, its future-values table (or None) and its number of series; the tables as the loader
    reads a file (`_table`)."""
    columns, key = request_columns(model, request)
    n = count_series(model, columns, limits)
    return _table(columns, key, _text(model)), future_table(model, request), n


def future_table(model: Forecaster, request: dict[str, Any]) -> pl.DataFrame | None:
    """The request's 'future' rows as a table (long format, as --future-csv reads), or None without them."""
    if "future" not in request:
        return None
    refuse_future_file(model, True)
    return _table(rows_columns(_list(request, "future"), "future"), "future", _text(model))


def request_columns(model: Forecaster, request: dict[str, Any]) -> tuple[dict[str, list[Any]], str]:
    """The request's table as columns of JSON values (a cell a row lacks is None), and the field it came from."""
    unknown = sorted(set(request) - {"rows", "series", "future", "allow_freq_mismatch"})
    if unknown:
        raise RequestError(
            f"unknown field(s) {', '.join(repr(k) for k in unknown)}; a forecast request holds 'rows' or "
            "'series', and optionally 'future' and 'allow_freq_mismatch'"
        )
    if ("rows" in request) == ("series" in request):
        raise RequestError("give either 'rows' (the table's rows) or 'series' (one object per series), not both")
    if "rows" in request:
        return rows_columns(_list(request, "rows"), "rows"), "rows"
    return series_columns(model, _list(request, "series")), "series"


def count_series(model: Forecaster, columns: dict[str, list[Any]], limits: Limits) -> int:
    """The number of series in the request's table, refused above the limit."""
    id_col = model.meta.id_col or ("id" if "id" in columns else None)
    n = len({_hashable(v) for v in columns[id_col]}) if id_col and id_col in columns else 1
    check_series(n, limits)
    return n


def _hashable(v: Any) -> Any:
    return v if isinstance(v, (str, int, float, type(None))) else json.dumps(v)


def _text(model: Forecaster) -> set[str]:
    """The columns kept as text whatever they hold: the time and the id."""
    return {model.meta.time_col, model.meta.id_col or "id"}


def rows_columns(rows: list[Any], key: str) -> dict[str, list[Any]]:
    """Rows (objects) -> columns in the order they first appear (a missing key, None: an empty cell)."""
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RequestError(f"'{key}' row {i + 1} is a JSON {_kind(row)}; each row is an object of column: value")
    names = list(rows[0])
    if sum(map(len, rows)) == len(rows) * len(names):  # most requests: every row with the first row's keys
        try:
            return {c: [row[c] for row in rows] for c in names}
        except KeyError:
            pass
    names = list(dict.fromkeys(c for row in rows for c in row))
    return {c: [row.get(c) for row in rows] for c in names}


def series_columns(model: Forecaster, series: list[Any]) -> dict[str, list[Any]]:
    """{'id', 'timestamps', 'values': [...] or {column: [...]}} per series -> the table's columns (a series without
    one of them: None cells), the id a column when a series names it or there are several."""
    meta = model.meta
    id_col = meta.id_col or "id"
    columns: dict[str, list[Any]] = {}
    rows = 0
    for i, s in enumerate(series, 1):
        where = f"series {i}" + (f" ('{s.get('id')}')" if isinstance(s, dict) and "id" in s else "")
        if not isinstance(s, dict):
            raise RequestError(f"{where} is a JSON {_kind(s)}; give an object with 'id', 'timestamps' and 'values'")
        stamps = s.get("timestamps")
        if not isinstance(stamps, list):
            raise RequestError(f"{where}: 'timestamps' must be a list of times")
        values = s.get("values")
        if isinstance(values, list):
            inputs = [*meta.inputs, *meta.future]
            if len(inputs) != 1:
                raise RequestError(
                    f"{where}: the model reads {', '.join(inputs)}; give 'values' as an object with a list per column"
                )
            values = {inputs[0]: values}
        if not isinstance(values, dict):
            raise RequestError(f"{where}: 'values' must be a list of numbers, or an object with a list per column")
        for col, v in values.items():
            if not isinstance(v, list) or len(v) != len(stamps):
                got = f"{len(v)} values" if isinstance(v, list) else f"a JSON {_kind(v)}"
                raise RequestError(f"{where}: column '{col}' has {got} for {len(stamps)} timestamps; give one per time")
        part: dict[str, list[Any]] = {meta.time_col: stamps, **values}
        sid = s.get("id")
        if sid is not None or len(series) > 1:
            part[id_col] = [sid if sid is not None else str(i)] * len(stamps)
        for col, cells in part.items():
            columns.setdefault(col, [None] * rows).extend(cells)
        rows += len(stamps)
        for cells in columns.values():  # columns this series lacks
            cells.extend([None] * (rows - len(cells)))
    return columns


def _list(request: dict[str, Any], key: str) -> list[Any]:
    value = request[key]
    if not isinstance(value, list) or not value:
        raise RequestError(f"'{key}' must be a non-empty list, got {_describe(value)}")
    return value


def _table(columns: dict[str, list[Any]], key: str, text: set[str]) -> pl.DataFrame:
    """Columns of JSON values -> a table. A column of JSON numbers is typed as numbers, as a typed CSV read or a
    Parquet file gives them; any other, and the `text` columns (time, id), hold text, so that the loader's checks
    and messages are a CSV's."""
    if not columns:
        raise RequestError(f"'{key}' rows hold no columns")
    frame = {}
    for c, cells in columns.items():
        if c not in text and all(type(v) in (int, float) or v is None for v in cells):
            frame[c] = pl.Series(c, cells, dtype=pl.Float64)
        else:
            frame[c] = pl.Series(c, [_cell(v, key, i + 1, c) for i, v in enumerate(cells)], dtype=pl.String)
    return pl.DataFrame(frame)


def _cell(v: Any, key: str, row: int, col: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, (bool, dict, list)):
        raise RequestError(f"'{key}' row {row}, column '{col}': a JSON {_kind(v)} is not a cell; give a number or text")
    return v if isinstance(v, str) else repr(v)


def _flag(request: dict[str, Any], key: str) -> bool:
    value = request.get(key, False)
    if not isinstance(value, bool):
        raise RequestError(f"'{key}' must be true or false, got {_describe(value)}")
    return value


def _kind(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(v), "number")


def _describe(v: Any) -> str:
    return f"a JSON {_kind(v)}" if not isinstance(v, list) else "an empty list"


def render(model: Forecaster, result: ForecastResult, kind: str) -> tuple[bytes, dict[str, str]]:
    """The answer's body and headers: JSON as `tsrnn forecast --json` prints it, or the table as `--out` writes
    CSV or Parquet (the warnings then in the X-Tsrnn-Warnings header, as a JSON list)."""
    if kind == JSON:
        return json.dumps(forecast_json(model, result)).encode(), {}
    headers = {"x-tsrnn-warnings": json.dumps([w.message for w in result.warnings])}  # ASCII: \\u escapes
    if kind == CSV:
        return result.table.write_csv().encode(), headers
    buffer = io.BytesIO()
    typed_times(result.table, result.history.time_col).write_parquet(buffer)
    return buffer.getvalue(), headers


def error_body(exc: TsrnnError) -> bytes:
    return json.dumps({"error": exc.message, "title": exc.title}).encode()
