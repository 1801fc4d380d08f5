"""What runs on a Dask worker: the model, loaded once per process and kept for every later partition, and the
forecast of one partition (a polars frame in the model's long layout, each series whole) in one batched call, the
series the loader refuses halved out and reported while the others are forecast."""

from __future__ import annotations

import contextlib
import hashlib
import resource
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tsrnn.core.errors import DataError, ModelFileError
from tsrnn.core.safeio import atomic_write
from tsrnn.data.future import horizon_values
from tsrnn.data.loader import load_raw
from tsrnn.data.parquetio import raw_from_frame, rows_named, rows_text
from tsrnn.runtime.forecastio import check_frequency, history_warnings, output_table, short_history, window_inputs
from tsrnn.runtime.inference import Forecaster

ROW = "__tsrnn_row"
"""Helper column: each row's number in its file, for messages."""
FILE = "__tsrnn_file"
"""Helper column of shuffled partitions: each row's file."""
MODELS_KEPT = 4
"""Models a worker process keeps loaded (the newest)."""


@dataclass(frozen=True)
class Skipped:
    """A series (or, with series None, a whole file) that was not forecast, and why."""

    series: str | None
    file: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"series": self.series, "file": self.file, "reason": self.reason}


@dataclass
class PartResult:
    """One partition's forecast: its table (None when no series could be forecast), what was skipped, warnings."""

    table: pl.DataFrame | None = None
    series: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    device: str = "cpu"
    threads: int = 1
    allow_freq_mismatch: bool = False
    id_col: str | None = None
    """The column that tells the series apart (`parquetio.read_plan`): the model's, or one the data has for a
    model trained on one series; None: the model's."""


# --- one model per worker process --------------------------------------------------------------------------

_models: dict[tuple[Any, ...], Forecaster] = {}
_models_lock = threading.Lock()
_loads = [0]


def worker_model(path: str, device: str = "cpu", threads: int = 1) -> Forecaster:
    """The model at `path`, loaded once per process and kept for every later partition (reloaded only when the
    file changes). A worker finds it at `path` (shared storage) or, by its name, in its own folder (shipped there
    with `client.upload_file(path, load=False)`)."""
    p = _model_file(path)
    st = p.stat()
    return _cached((str(p.resolve()), st.st_mtime_ns, st.st_size, device, threads), lambda: p, device, threads)


def shipped_model(data: bytes, name: str, device: str = "cpu", threads: int = 1) -> Forecaster:
    """The model sent to the workers with the tasks (its bytes, scattered once to every worker), written to the
    worker's own scratch folder (removed with the worker) and loaded once per process: no worker needs the model
    file itself."""
    digest = hashlib.sha256(data).hexdigest()[:24]

    def write() -> Path:
        folder = Path(tempfile.gettempdir())
        with contextlib.suppress(ImportError, ValueError):
            # Here, not at the top: Dask is the optional dask extra; this runs on a worker.
            from distributed import get_worker

            folder = Path(get_worker().local_directory)
        path = folder / "tsrnn-models" / digest / Path(name).name
        if not path.is_file() or path.stat().st_size != len(data):
            atomic_write(path, lambda tmp: tmp.write_bytes(data))
        return path

    return _cached(("shipped", digest, device, threads), write, device, threads)


def _cached(key: tuple[Any, ...], path: Callable[[], Path], device: str, threads: int) -> Forecaster:
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = Forecaster.load(path(), device=device, threads=threads)
            while len(_models) >= MODELS_KEPT:
                _models.pop(next(iter(_models)))
            _models[key] = model
            _loads[0] += 1
    return model


def model_loads() -> int:
    """How many times this process has loaded a model (an ONNX Runtime session) for its tasks."""
    return _loads[0]


def _model_file(path: str) -> Path:
    p = Path(path)
    if p.is_file():
        return p
    with contextlib.suppress(ImportError, ValueError):
        # Here, not at the top: Dask is the optional dask extra; this runs on a worker.
        from distributed import get_worker

        shipped = Path(get_worker().local_directory) / p.name
        if shipped.is_file():
            return shipped
    raise ModelFileError(
        f"{path}: model file not found on {socket.gethostname()}; every worker must read it: put it "
        "on storage all workers share, or ship it with client.upload_file"
    )


# --- one partition -----------------------------------------------------------------------------------------


def forecast_partition(
    model: Forecaster,
    frame: pl.DataFrame,
    name: str,
    *,
    allow_freq_mismatch: bool = False,
    describe: Callable[[np.ndarray, int], str] | None = None,
    id_col: str | None = None,
) -> PartResult:
    """Forecast every series of one partition (a polars frame in the model's long layout, each series whole),
    in one batched call. A series the loader refuses (duplicated or off-grid times, bad values) or too short for
    the model's window is left out and reported; the partition is halved until the bad series are alone, so the
    others are forecast as they would be together. Raises DataError when the frame lacks the model's columns.
    Optional helper columns: ROW (each row's number in its file, for messages) and FILE (each row's file).
    `id_col` tells the series apart (default: the model's id column)."""
    result = PartResult()
    if not frame.height:
        return result
    model.check_columns(frame.columns, name)
    id_col = id_col or model.meta.id_col
    if id_col:  # as the loader reads ids: text, a missing id is ''
        frame = frame.with_columns(pl.col(id_col).cast(pl.String).fill_null(""))
    with rows_named(describe or rows_text):
        tables = _halves(model, frame, name, allow_freq_mismatch, result, id_col)
    if tables:
        result.table = pl.concat(tables)
    return result


def _halves(
    model: Forecaster, frame: pl.DataFrame, name: str, allow: bool, result: PartResult, id_col: str | None
) -> list[pl.DataFrame]:
    try:
        table = _forecast_all(model, frame, name, allow, result, id_col)
        return [] if table is None else [table]
    except DataError as exc:
        ids = frame[id_col].unique(maintain_order=True) if id_col else None
        if ids is None or len(ids) <= 1:
            result.skipped.append(Skipped(None if ids is None else str(ids[0]), _files(frame, name), exc.message))
            return []
        half = len(ids) // 2
        assert id_col is not None
        return [
            t
            for part in (ids[:half], ids[half:])
            for t in _halves(model, frame.filter(pl.col(id_col).is_in(part)), name, allow, result, id_col)
        ]


def _files(frame: pl.DataFrame, name: str) -> str:
    if FILE not in frame.columns:
        return name
    return ", ".join(sorted(str(f) for f in frame[FILE].unique()))


def _forecast_all(
    model: Forecaster, frame: pl.DataFrame, name: str, allow: bool, result: PartResult, id_col: str | None
) -> pl.DataFrame | None:
    """Load and forecast the whole frame; DataError when the loader refuses it. Short series are left out."""
    lines = frame[ROW].cast(pl.Int64).to_numpy() if ROW in frame.columns else None
    ids = (id_col,) if id_col else ()
    cols = frame.select(list(dict.fromkeys([*model.columns, *ids])))
    cfg = replace(model.data_config(), id_col=id_col)
    data = load_raw(raw_from_frame(cols, Path(name), name=name, ids=ids, lines=lines), cfg)
    check_frequency(model, data, allow)
    L = model.history_len
    short = {i for i, v in enumerate(data.values) if len(v) < L}
    skipped = []
    for i in sorted(short):
        sid = data.ids[i]
        where = _files(frame.filter(pl.col(id_col) == sid), name) if id_col else _files(frame, name)
        skipped.append(
            Skipped(
                sid if id_col else None,
                where,
                f"{name}: {short_history(model, sid if id_col else '', len(data.values[i]))}",
            )
        )
    if short:
        data = data.subset([i for i in range(data.n_series) if i not in short])
    table = None
    warnings = []
    if data.n_series:
        warnings = history_warnings(model, data)
        ahead = None
        if model.meta.future:  # the rows after each series' last observed target, as for one file
            ahead = horizon_values(
                data,
                raw_from_frame(cols, Path(name), name=name, ids=ids, lines=lines),
                list(model.meta.future),
                model.horizon,
                same_file=True,
                model=model.path.name,
            )
            warnings = [w for w in warnings if w.kind != "tail_dropped"]
        history, known = window_inputs(model, data, 0, slice(None), ahead)
        table = output_table(model, data, model.predict_outputs(history, known), 0, data.n_series, typed=True)
    result.skipped += skipped
    result.warnings += [w.message for w in warnings]
    result.series += data.n_series
    return table


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
