"""A forecast's tables: a data file forecast in batches, the model's windows read from the loaded history, the
checks and warnings about that history, the rows of each batch ([id,] future time, one column per output), and
writing them as CSV or Parquet, never half a file. numpy and polars only (never torch)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import tsrnn.core.safeio as safeio
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.data.csvio import read_header
from tsrnn.data.future import horizon_values
from tsrnn.data.loader import SeriesSet, load_raw, load_series, resolve_demo
from tsrnn.data.parquetio import (
    is_parquet_name,
    parquet_sink,
    raw_from_frame,
    time_column,
    typed_times,
    write_parquet,
)
from tsrnn.data.rawtable import RawTable
from tsrnn.data.seasons import describe_seasons
from tsrnn.modelfile.artifact import ModelMeta
from tsrnn.runtime.inference import Forecaster
from tsrnn.timeline.known import window_times
from tsrnn.timeline.timefreq import format_times


@dataclass
class ForecastResult:
    table: pl.DataFrame
    """One row per series and future step: [id,] time, one column per target."""
    provider: str
    latency_ms: float
    n_series: int
    history: SeriesSet
    out: Path | None = None
    """Where the rows were written, when forecast_file streamed them to a file."""
    warnings: list[HistoryWarning] = field(default_factory=list)
    """What the user should know about the history the forecast starts from."""


@dataclass(frozen=True)
class HistoryWarning:
    """One series' note: its trailing rows were dropped, or its last window holds interpolated values."""

    series: str
    kind: str
    """tail_dropped or interpolated."""
    steps: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"series": self.series, "kind": self.kind, "steps": self.steps, "message": self.message}


BATCH = 65_536
"""Series per ONNX Runtime call when a file is forecast (one call for most files)."""


Predict = Callable[[np.ndarray, np.ndarray | None], dict[str, np.ndarray]]
"""(history, known) -> every output of the model: `Forecaster.predict_outputs`, or a server's batched call of it."""


def forecast_file(
    model: Forecaster,
    csv: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    batch_size: int = BATCH,
    on_progress: Callable[[int, int], None] | None = None,
    allow_freq_mismatch: bool = False,
    future_csv: str | os.PathLike[str] | None = None,
) -> ForecastResult:
    """Forecast every series in the CSV (or Parquet data) from its last history_len rows, `batch_size` series per
    ONNX Runtime call (one call for most files). With `out`, each batch's rows are written as soon as they exist
    (to a temporary file renamed at the end) and the result keeps only the first batch's table. Data at another
    frequency than the model's is refused unless `allow_freq_mismatch` (the dates then follow the data). A model
    with future columns reads their horizon values from the CSV's rows after each series' last observed target,
    or from `future_csv` (long format: id, time, columns)."""
    refuse_future_file(model, future_csv is not None)
    data = load_history(model, csv)
    return forecast_series(
        model,
        data,
        future_csv or csv,
        same_file=future_csv is None,
        out=out,
        batch_size=batch_size,
        on_progress=on_progress,
        allow_freq_mismatch=allow_freq_mismatch,
    )


def forecast_frame(
    model: Forecaster,
    frame: pl.DataFrame,
    name: str,
    future: pl.DataFrame | None = None,
    allow_freq_mismatch: bool = False,
    predict: Predict | None = None,
) -> ForecastResult:
    """`forecast_file` for a table already in memory (a request's rows): the same loader stages, checks, warnings,
    windows and output table. `name` stands for the file in messages; `future` holds the horizon's values of the
    model's future columns (long format) when the rows after each series' last target do not."""
    refuse_future_file(model, future is not None)
    model.check_columns(frame.columns, name)
    cfg = model.data_config()
    ids = (cfg.id_col,) if cfg.id_col else ()
    data = in_zone(model, load_raw(raw_from_frame(frame, Path(name), name=name, ids=ids), cfg))
    source = None  # the loader keeps only the columns it reads: the future values are read again from the table
    if model.meta.future:
        source = raw_from_frame(frame if future is None else future, Path(name), name=name, ids=ids)
    return forecast_series(
        model, data, source, same_file=future is None, allow_freq_mismatch=allow_freq_mismatch, predict=predict
    )


def refuse_future_file(model: Forecaster, given: bool) -> None:
    if given and not model.meta.future:
        raise ConfigError(f"{model.path.name} has no future columns; forecast without --future-csv")


def forecast_series(
    model: Forecaster,
    data: SeriesSet,
    future: str | os.PathLike[str] | RawTable | None,
    same_file: bool,
    out: str | os.PathLike[str] | None = None,
    batch_size: int = BATCH,
    on_progress: Callable[[int, int], None] | None = None,
    allow_freq_mismatch: bool = False,
    predict: Predict | None = None,
) -> ForecastResult:
    """The one forecast of loaded series, for a file (`forecast_file`) and a table in memory (`forecast_frame`):
    the frequency and length checks, the history warnings, the horizon's future values (for a model with future
    columns, from `future`: the data itself when `same_file`, else a future-values table), then `batch_size`
    series per `predict` call (default: the model's own), each batch's rows written to `out` as soon as they
    exist."""
    check_frequency(model, data, allow_freq_mismatch)
    short = [(sid, len(v)) for sid, v in zip(data.ids, data.values, strict=True) if len(v) < model.history_len]
    if short:
        sid, n = short[0]
        raise DataError(f"{data.path.name}: {short_history(model, sid, n)}")
    warnings = history_warnings(model, data)
    ahead = None
    if model.meta.future:
        if future is None:
            raise ConfigError(f"{model.path.name} needs the values of {', '.join(model.meta.future)} over its horizon")
        ahead = horizon_values(
            data, future, list(model.meta.future), model.horizon, same_file=same_file, model=model.path.name
        )
        if same_file:  # the rows without a target were the future rows, not a dropped tail
            warnings = [w for w in warnings if w.kind != "tail_dropped"]
    run = predict or model.predict_outputs
    tables: list[pl.DataFrame] = []
    latency = 0.0
    parquet = out is not None and is_parquet_name(out)
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(parquet_sink(out) if parquet else csv_sink(out)) if out else None
        for a in range(0, data.n_series, batch_size):
            b = min(a + batch_size, data.n_series)
            history, known = window_inputs(model, data, 0, slice(a, b), None if ahead is None else ahead[a:b])
            t0 = time.perf_counter()
            outputs = run(history, known)
            latency += (time.perf_counter() - t0) * 1000
            table = output_table(model, data, outputs, a, b, typed=parquet)
            if sink is None or not tables:
                tables.append(output_table(model, data, outputs, a, b) if parquet else table)
            if sink is not None:
                sink(table)
            if on_progress:
                on_progress(b, data.n_series)
    return ForecastResult(
        pl.concat(tables), model.provider, latency, data.n_series, data, Path(out) if out else None, warnings
    )


def forecast_json(model: Forecaster, result: ForecastResult) -> dict[str, Any]:
    """A forecast as JSON (`tsrnn forecast --json`, the server's answer): the rows with the provider, the warnings
    and the frequencies."""
    out = result.out
    return {
        "provider": result.provider,
        "fallback": model.fallback,
        "warnings": [w.to_dict() for w in result.warnings],
        "data_frequency": result.history.freq.code,
        "model_frequency": model.meta.freq.code,
        "latency_ms": round(result.latency_ms, 3),
        "n_series": result.n_series,
        "horizon": model.horizon,
        "out": str(out) if out else None,
        "forecast": result.table.to_dicts(),
    }


def load_history(model: Forecaster, csv: str | os.PathLike[str]) -> SeriesSet:
    """Read a CSV (or Parquet data) with the model's own columns; name any the file lacks."""
    csv = resolve_demo(csv)
    model.check_columns(read_header(csv), Path(csv).name)
    return in_zone(model, load_series(csv, model.data_config()))


def in_zone(model: Forecaster, data: SeriesSet) -> SeriesSet:
    """Daily steps of UTC data continue the model's zone's local days."""
    if model.meta.tz and data.utc and data.freq.shift_us:
        return dataclasses.replace(data, freq=dataclasses.replace(data.freq, zone=model.meta.tz))
    return data


def short_history(model: Forecaster, sid: str, rows: int) -> str:
    """Why a series of `rows` rows is too short for the model: 'series 'a' has 200 rows; the model reads the
    last 336 (its longest season, a week)'."""
    who = f"series '{sid}'" if sid else "the series"
    meta = model.meta
    if meta.history_len > meta.input_len:
        longest = describe_seasons(meta.seasons[-1:], model.freq) if meta.seasons else str(meta.history_len)
        reads = (
            f"its window of {meta.input_len} and its longest season, {longest}, before it"
            if meta.season_lags
            else f"its longest season: {longest}"
        )
        return (
            f"{who} has {rows} rows; the model reads the last {meta.history_len} steps ({reads}); give at least "
            f"{meta.history_len} rows of history"
        )
    return f"{who} has {rows} rows; the model needs the last {meta.input_len}"


def window_inputs(
    model: Forecaster,
    data: SeriesSet,
    back: int = 0,
    series: slice = slice(None),
    horizon_future: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """History (N, HL, C) (HL: the model's history_len) and known inputs of the
    windows ending `back` steps before each series' end, the horizon's future values from the data or from
    `horizon_future` (N, H, F)."""
    L, H = model.history_len, model.horizon
    end = [len(v) - back for v in data.values[series]]
    history = np.stack([v[e - L : e] for v, e in zip(data.values[series], end, strict=True)])
    if not model.meta.known:
        return history, None
    times = np.stack([t[e - L : e] for t, e in zip(data.times[series], end, strict=True)])
    future = None
    if model.meta.future:
        if data.future is None:
            raise ConfigError(f"{data.path.name}: loaded without the model's future columns")
        past = np.stack([f[e - L : e] for f, e in zip(data.future[series], end, strict=True)])
        if back >= H:
            ahead = np.stack([f[e : e + H] for f, e in zip(data.future[series], end, strict=True)])
        elif horizon_future is not None:
            ahead = horizon_future
        else:
            raise ConfigError(
                f"{model.path.name} needs the values of {', '.join(model.meta.future)} for the {H} steps it forecasts"
            )
        future = np.concatenate([past, ahead], axis=1)
    return history, model.known_inputs(times, data.freq, future)


def check_frequency(model: Forecaster, data: SeriesSet, allow_mismatch: bool = False) -> None:
    """Refuse data on another time grid than the model's (a daily file for a monthly model)."""
    freq = model.meta.freq
    if data.freq.code == freq.code or allow_mismatch:
        return
    raise DataError(
        f"{data.path.name}: the data is {data.freq.label} ({data.freq.code}) but the model {model.path.name} was "
        f"trained on {freq.label} data ({freq.code}); its forecast steps would not mean what the dates say. "
        f"Forecast {freq.label} data, or pass --allow-freq-mismatch to forecast anyway (dates then follow the "
        "data's grid)"
    )


def history_warnings(model: Forecaster, data: SeriesSet) -> list[HistoryWarning]:
    """What the user should know about the history a forecast starts from: series whose trailing rows had an
    empty value and were dropped (the forecast starts before them), and series whose last window holds
    interpolated values."""
    out: list[HistoryWarning] = []
    for sid, (rows, first) in data.report.tail_dropped.items():
        when = format_times(np.array([first], dtype="datetime64[us]"), data.utc)[0]
        who = f"series '{sid}'" if sid else "the series"
        out.append(
            HistoryWarning(
                sid,
                "tail_dropped",
                rows,
                f"{who}: the last {rows} row(s) from {when} have an empty value and were left "
                "out; the forecast starts after the last complete row",
            )
        )
    if model.known_spec.holidays is not None and data.n_series:
        last = max(t[-1] for t in data.times)
        beyond = model.known_spec.uncovered(window_times(np.array([last]), None, model.horizon, data.freq)[0])
        if beyond is not None:
            h = model.known_spec.holidays
            out.append(
                HistoryWarning(
                    "",
                    "holidays_beyond",
                    0,
                    f"the forecast reaches {beyond}, past the holiday dates stored in the model "
                    f"({h.spec}, {h.first_year}–{h.last_year}): holiday flags read 0 there; "
                    "retrain to extend them",
                )
            )
    if data.filled is not None:
        L = model.history_len
        for sid, mask in zip(data.ids, data.filled, strict=True):
            n = int(np.count_nonzero(mask[-L:]))
            if n:
                who = f"series '{sid}'" if sid else "the series"
                much = "; most of the window is invented: treat this forecast with care" if 2 * n > L else ""
                out.append(
                    HistoryWarning(
                        sid,
                        "interpolated",
                        n,
                        f"{who}: {n} of the last {L} steps the model reads were missing and interpolated{much}",
                    )
                )
    return out


def output_table(
    model: Forecaster, data: SeriesSet, outputs: dict[str, np.ndarray], a: int, b: int, typed: bool = False
) -> pl.DataFrame:
    """Rows of series a..b: [id,] future time (ISO text, or `typed` datetimes for Parquet), forecast columns."""
    last = np.array([t[-1] for t in data.times[a:b]], dtype="datetime64[us]")
    stamps = window_times(last, None, model.horizon, data.freq).reshape(-1)  # each series' next steps
    cols: dict[str, Any] = {}
    if data.id_col:
        cols[data.id_col] = np.repeat(np.asarray(data.ids[a:b], dtype=object), model.horizon)
    cols[data.time_col] = time_column(data.time_col, stamps, data.utc) if typed else format_times(stamps, data.utc)
    cols.update(value_columns(model.meta, outputs))
    return pl.DataFrame(cols)


def value_columns(meta: ModelMeta, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Forecast columns, flattened over series and steps: one per target, one per target and quantile
    (passengers_q10, ...), or the probability of a rise (ModelMeta.output_columns names them)."""
    names = meta.output_columns()
    if "probability" in outputs:
        return {names[0]: outputs["probability"][:, 0]}
    if "quantiles" in outputs:
        q = outputs["quantiles"]
        nq = len(meta.quantiles)
        return {names[j * nq + k]: q[:, :, j, k].reshape(-1) for j in range(len(meta.targets)) for k in range(nq)}
    return {name: outputs["forecast"][:, :, j].reshape(-1) for j, name in enumerate(names)}


@contextlib.contextmanager
def csv_sink(path: str | os.PathLike[str]) -> Iterator[Callable[[pl.DataFrame], None]]:
    """Append tables to `path` under `safeio`'s rules: a temporary CSV beside it renamed to it only when all
    went well (a device, FIFO or /dev/stdout is written through); a folder or an unwritable place is a
    ConfigError, and no temporary file stays behind."""
    try:
        stream = safeio.StreamWriter(path, example="forecast.csv")
    except OSError as exc:
        raise ConfigError(cannot_write(path, exc)) from None
    written = [0]

    def write(table: pl.DataFrame) -> None:
        try:
            table.write_csv(stream.file, include_header=written[0] == 0)
            stream.file.flush()  # a pipe's reader gets each batch as it is made
        except OSError as exc:
            raise ConfigError(cannot_write(path, exc)) from None
        written[0] += table.height

    try:
        yield write
    except BaseException:
        stream.abort()
        raise
    try:
        stream.commit()
    except OSError as exc:
        raise ConfigError(cannot_write(path, exc)) from None


def cannot_write(path: str | os.PathLike[str], exc: OSError) -> str:
    return f"cannot write {path}: {exc.strerror or exc}; choose another --out path"


def save_table(table: pl.DataFrame, path: str | os.PathLike[str], time_col: str | None = None) -> Path:
    """Write a forecast CSV with `safeio.atomic_write` (never half a file; devices and pipes written through), or
    Parquet when the name ends in .parquet (the ISO text of `time_col` then becomes datetimes, as
    `forecast_file` writes them)."""
    if is_parquet_name(path):
        return write_parquet(typed_times(table, time_col) if time_col else table, path)
    try:
        return safeio.atomic_write(path, lambda tmp: table.write_csv(tmp), example="forecast.csv")
    except OSError as exc:
        raise ConfigError(cannot_write(path, exc)) from None
