"""Forecast very many series on a Dask cluster (dask.distributed): a laptop's LocalCluster or a real one.

Input: data in the long layout the model reads (id, time, inputs and future columns), each series whole in one
partition. From Parquet files (`tsrnn forecast MODEL.onnx 'data/*.parquet' --engine dask --out results/`) each
file is a partition; when some series is split over several files, the rows are shuffled by id once first (Dask's
shuffle). From a Dask DataFrame (`forecast(ddf, "model.onnx")`), the caller's partitions are used as they are, or
shuffled by id first with `shuffle=True`.

The command sends the model file to every worker once (no worker needs it on disk); each worker process loads it
once (one ONNX Runtime session, kept for every later partition), reads each partition with tsrnn's loader (the
checks and messages of a single file) and forecasts all its series in one batched call. A series that cannot be
forecast (too short, bad values, duplicated times) is left out and reported with its id and file while the others
are forecast; an unreadable file is reported and the other files are forecast. Results are Parquet partitions,
each written to a temporary file and renamed when whole.

Needs the `dask` extra: pip install 'tsrnn[dask]'."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import resource
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from .data import load_raw
from .errors import ConfigError, DataError, ModelFileError, TsrnnError
from .extras import needs_extras, require
from .inference import Forecaster, available_cores
from .parquetio import (
    ParquetSource,
    is_parquet,
    parquet_files,
    raw_from_frame,
    rows_named,
    rows_text,
    write_parquet,
)
from .safeio import atomic_write, check_out_dir

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client

CONNECT_TIMEOUT = 5.0
"""Seconds to reach a scheduler given by address before giving up with a clear error."""
ROW = "__tsrnn_row"
"""Helper column: each row's number in its file, for messages."""
FILE = "__tsrnn_file"
"""Helper column of shuffled partitions: each row's file."""
PART_NAME = re.compile(r"^part-\d{5,}\.parquet$")
SKIPPED_FILE = "skipped.csv"
SHOWN = 10
"""Skipped series and warnings printed one per line; the rest are counted (and listed in skipped.csv)."""
MODELS_KEPT = 4
"""Models a worker process keeps loaded (the newest)."""

log = logging.getLogger("tsrnn.distributed")


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
        from distributed import get_worker

        shipped = Path(get_worker().local_directory) / p.name
        if shipped.is_file():
            return shipped
    raise ModelFileError(
        f"{path}: model file not found on {socket.gethostname()}; every worker must read it: put it "
        "on storage all workers share, or ship it with client.upload_file"
    )


# --- one partition -----------------------------------------------------------------------------------------


def forecast_frame(
    model: Forecaster,
    frame: pl.DataFrame,
    name: str,
    *,
    allow_freq_mismatch: bool = False,
    describe: Callable[[np.ndarray, int], str] | None = None,
) -> PartResult:
    """Forecast every series of one partition (a polars frame in the model's long layout, each series whole),
    in one batched call. A series the loader refuses (duplicated or off-grid times, bad values) or too short for
    the model's window is left out and reported; the partition is halved until the bad series are alone, so the
    others are forecast as they would be together. Raises DataError when the frame lacks the model's columns.
    Optional helper columns: ROW (each row's number in its file, for messages) and FILE (each row's file)."""
    result = PartResult()
    if not frame.height:
        return result
    model.check_columns(frame.columns, name)
    id_col = model.meta.id_col
    if id_col:  # as the loader reads ids: text, a missing id is ''
        frame = frame.with_columns(pl.col(id_col).cast(pl.String).fill_null(""))
    with rows_named(describe or rows_text):
        tables = _halves(model, frame, name, allow_freq_mismatch, result)
    if tables:
        result.table = pl.concat(tables)
    return result


def _halves(model: Forecaster, frame: pl.DataFrame, name: str, allow: bool, result: PartResult) -> list[pl.DataFrame]:
    try:
        table = _forecast_all(model, frame, name, allow, result)
        return [] if table is None else [table]
    except DataError as exc:
        id_col = model.meta.id_col
        ids = frame[id_col].unique(maintain_order=True) if id_col else None
        if ids is None or len(ids) <= 1:
            result.skipped.append(Skipped(None if ids is None else str(ids[0]), _files(frame, name), exc.message))
            return []
        half = len(ids) // 2
        assert id_col is not None
        return [
            t
            for part in (ids[:half], ids[half:])
            for t in _halves(model, frame.filter(pl.col(id_col).is_in(part)), name, allow, result)
        ]


def _files(frame: pl.DataFrame, name: str) -> str:
    if FILE not in frame.columns:
        return name
    return ", ".join(sorted(str(f) for f in frame[FILE].unique()))


def _forecast_all(
    model: Forecaster, frame: pl.DataFrame, name: str, allow: bool, result: PartResult
) -> pl.DataFrame | None:
    """Load and forecast the whole frame; DataError when the loader refuses it. Short series are left out."""
    lines = frame[ROW].cast(pl.Int64).to_numpy() if ROW in frame.columns else None
    cols = frame.select(list(dict.fromkeys(model.columns)))
    id_col = model.meta.id_col
    ids = (id_col,) if id_col else ()
    data = load_raw(raw_from_frame(cols, Path(name), name=name, ids=ids, lines=lines), model.data_config())
    model.check_frequency(data, allow)
    L = model.input_len
    short = {i for i, v in enumerate(data.values) if len(v) < L}
    skipped = []
    for i in sorted(short):
        sid = data.ids[i]
        who = f"series '{sid}'" if id_col else "the series"
        where = _files(frame.filter(pl.col(id_col) == sid), name) if id_col else _files(frame, name)
        skipped.append(
            Skipped(
                sid if id_col else None,
                where,
                f"{name}: {who} has {len(data.values[i])} rows; the model needs the last {L}",
            )
        )
    if short:
        data = data.subset([i for i in range(data.n_series) if i not in short])
    table = None
    warnings = []
    if data.n_series:
        warnings = model.history_warnings(data)
        ahead = None
        if model.meta.future:  # the rows after each series' last observed target, as for one file
            from .future import horizon_values

            ahead = horizon_values(
                data,
                raw_from_frame(cols, Path(name), name=name, ids=ids, lines=lines),
                list(model.meta.future),
                model.horizon,
                same_file=True,
                model=model.path.name,
            )
            warnings = [w for w in warnings if w.kind != "tail_dropped"]
        history, known = model.window_inputs(data, 0, slice(None), ahead)
        table = model._table(data, model.predict_outputs(history, known), 0, data.n_series, typed=True)
    result.skipped += skipped
    result.warnings += [w.message for w in warnings]
    result.series += data.n_series
    return table


# --- tasks run on the workers ------------------------------------------------------------------------------


@dataclass
class PartReport:
    """What a partition task did (sent back to the client)."""

    index: int
    source: str
    series: int = 0
    rows: int = 0
    out: str | None = None
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Survey:
    """One file's footer and series ids (hashed), or why it cannot be read."""

    path: str
    hashes: np.ndarray
    error: str | None = None


def _survey_file(path: str, model_bytes: bytes, model_name: str, opts: Options) -> Survey:
    model = shipped_model(model_bytes, model_name, opts.device, opts.threads)
    id_col = model.meta.id_col
    assert id_col is not None
    try:
        source = ParquetSource.open(path)
        model.check_columns(source.columns, source.name)
        ids = source.scan([id_col]).select(pl.col(id_col).cast(pl.String).fill_null("").unique().hash())
        return Survey(path, ids.collect().to_series().to_numpy())
    except DataError as exc:
        return Survey(path, np.zeros(0, dtype=np.uint64), exc.message)


def _file_task(
    index: int, path: str, label: str | None, model_bytes: bytes, model_name: str, out_dir: str, opts: Options
) -> PartReport:
    """Forecast one file (or, for a model without series ids, the whole data set) into part-INDEX.parquet.
    `label` names the file in messages (default: its name)."""
    model = shipped_model(model_bytes, model_name, opts.device, opts.threads)
    try:
        source = ParquetSource.open(path)
        label = label or source.name
        model.check_columns(source.columns, label)
        frame = source.scan(list(dict.fromkeys(model.columns))).collect()
        frame = frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))
        result = forecast_frame(
            model, frame, label, allow_freq_mismatch=opts.allow_freq_mismatch, describe=source.describe_rows
        )
    except DataError as exc:
        where = label or Path(path).name
        return PartReport(index, where, skipped=[Skipped(None, where, exc.message)])
    return _report(index, label, result, out_dir)


def _read_for_shuffle(path: str, label: str, wanted: list[str], id_col: str) -> pd.DataFrame:
    source = ParquetSource.open(path)
    frame = source.scan(wanted).collect()
    return frame.with_columns(
        pl.col(id_col).cast(pl.String).fill_null(""),
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW),
        pl.lit(label).alias(FILE),
    ).to_pandas(use_pyarrow_extension_array=True)


def _frame_task(
    index: int, pdf: pd.DataFrame, model_bytes: bytes, model_name: str, out_dir: str, opts: Options
) -> PartReport:
    """Forecast one shuffled partition into part-INDEX.parquet."""
    model = shipped_model(model_bytes, model_name, opts.device, opts.threads)
    name = f"partition {index}"
    frame = pl.from_pandas(pdf).sort(FILE, ROW)  # the rows in their files' order, as one machine reads them
    result = forecast_frame(model, frame, name, allow_freq_mismatch=opts.allow_freq_mismatch)
    return _report(index, name, result, out_dir)


def _report(index: int, source: str, result: PartResult, out_dir: str) -> PartReport:
    report = PartReport(index, source, result.series, skipped=result.skipped, warnings=result.warnings)
    if result.table is not None:
        path = Path(out_dir) / f"part-{index:05d}.parquet"
        write_parquet(result.table, path, example="results/")
        report.out, report.rows = path.name, result.table.height
    return report


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the client side ---------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What a distributed forecast did."""

    out: Path
    files: int
    partitions: int = 0
    series: int = 0
    rows: int = 0
    shuffled: bool = False
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    removed: int = 0
    """part files of an earlier run that this run did not write, removed."""
    workers: int = 0
    seconds: float = 0.0
    worker_peak_rss_mib: dict[str, float] = field(default_factory=dict)
    client_peak_rss_mib: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "files": self.files,
            "partitions": self.partitions,
            "series": self.series,
            "rows": self.rows,
            "shuffled": self.shuffled,
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": self.warnings,
            "removed_stale_parts": self.removed,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "worker_peak_rss_mib": self.worker_peak_rss_mib,
            "client_peak_rss_mib": round(self.client_peak_rss_mib, 1),
        }


@contextlib.contextmanager
def cluster(
    scheduler: str | None = None, workers: int | None = None, timeout: float = CONNECT_TIMEOUT
) -> Iterator[Client]:
    """A Dask client: connected to the scheduler at `scheduler` (a ConfigError after `timeout` seconds when it
    cannot be reached), or to a LocalCluster of `workers` single-threaded worker processes (default: one per
    core) started here and stopped at the end."""
    with needs_extras("tsrnn.distributed.cluster"):
        require("dask", "distributed")
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except Exception as exc:  # OSError (refused, timed out), ValueError (a malformed address)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            if isinstance(exc, ValueError):
                raise ConfigError(
                    f"--scheduler {scheduler}: not a scheduler address ({first}); give one such as "
                    "tcp://scheduler-host:8786"
                ) from None
            raise ConfigError(
                f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s ({first}); "
                "check the address (e.g. tcp://scheduler-host:8786) and that the scheduler is "
                "running"
            ) from None
        with client:
            yield client
        return
    n = workers or available_cores()
    if n < 1:
        raise ConfigError(f"--workers must be at least 1, got {n}")
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.CRITICAL
        ) as local,
        Client(local) as client,
    ):
        yield client


def forecast_files(
    client: Client,
    model_path: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    device: str = "cpu",
    threads: int = 1,
    allow_freq_mismatch: bool = False,
    on_progress: Callable[[int, int, int], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Summary:
    """Forecast Parquet data (a file, a folder or a glob) on `client`'s cluster into part-NNNNN.parquet files in
    the folder `out`: one partition per file, or, when a series is split over several files, the rows shuffled
    by id once into as many partitions. Bad files and series are left out and listed in the summary (and in
    out/skipped.csv). `on_progress(done, partitions, series)` follows the partitions."""
    t0 = time.perf_counter()
    model = Forecaster.load(model_path)  # a bad model fails here, before the cluster does any work
    shipped = client.scatter(Path(model_path).read_bytes(), broadcast=True)  # no worker needs the file itself
    ship = {"model_bytes": shipped, "model_name": Path(model_path).name}
    files = [str(f) for f in parquet_files(data)]
    labels = _labels(files)
    out = check_out_dir(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    opts = Options(device, threads, allow_freq_mismatch)
    id_col = model.meta.id_col
    summary = Summary(out, len(files), workers=len(client.scheduler_info().get("workers", {})))
    with _worker_errors():
        if id_col is None:  # one series: every file together is one partition
            futures = [client.submit(_file_task, 0, str(data), None, out_dir=str(out), opts=opts, pure=False, **ship)]
        else:
            good, split = files, None
            if len(files) > 1:
                good, split = _survey(client, files, labels, ship, opts, summary)
            if split is not None:
                summary.shuffled = True
                if on_note:
                    on_note(
                        f"series are split over several files (e.g. {split}); shuffling the rows by "
                        f"'{id_col}' once (write each series into one file to skip this)"
                    )
                futures = _shuffled(client, good, labels, model, ship, str(out), opts)
            else:
                futures = client.map(
                    _file_task,
                    range(len(good)),
                    good,
                    [labels[f] for f in good],
                    out_dir=str(out),
                    opts=opts,
                    pure=False,
                    **ship,
                )
        summary.partitions = len(futures)
        reports = _collect(futures, summary, on_progress)
        summary.worker_peak_rss_mib = {k: round(v, 1) for k, v in client.run(_peak_rss_mib).items()}
    written = {r.out for r in reports if r.out}
    for f in out.iterdir():
        if PART_NAME.match(f.name) and f.name not in written:
            f.unlink(missing_ok=True)
            summary.removed += 1
    skipped_file = out / SKIPPED_FILE
    if summary.skipped:
        table = pl.DataFrame(
            [s.to_dict() for s in summary.skipped], schema={"series": pl.String, "file": pl.String, "reason": pl.String}
        )
        atomic_write(skipped_file, lambda tmp: table.write_csv(tmp))
    else:
        skipped_file.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - t0
    summary.client_peak_rss_mib = _peak_rss_mib()
    return summary


def _labels(files: list[str]) -> dict[str, str]:
    """How messages name each file: its name, or its path under the data's folder where names repeat
    (bucket=1/0.parquet, bucket=2/0.parquet)."""
    names = [Path(f).name for f in files]
    if len(set(names)) == len(names):
        return dict(zip(files, names, strict=True))
    root = os.path.commonpath([os.path.dirname(f) for f in files])
    return {f: os.path.relpath(f, root) for f in files}


def _survey(
    client: Client, files: list[str], labels: dict[str, str], ship: dict[str, Any], opts: Options, summary: Summary
) -> tuple[list[str], str | None]:
    """The readable files, and an example of a series found in several of them (None: every series is whole in
    one file). Unreadable files go to the summary's skipped list."""
    surveys: list[Survey] = client.gather(client.map(_survey_file, files, opts=opts, pure=False, **ship))
    good = [s for s in surveys if s.error is None]
    summary.skipped += [Skipped(None, labels[s.path], s.error) for s in surveys if s.error is not None]
    if len(good) < 2:
        return [s.path for s in good], None
    hashes = np.concatenate([s.hashes for s in good])
    owner = np.repeat(np.arange(len(good)), [len(s.hashes) for s in good])
    order = np.argsort(hashes, kind="stable")
    dup = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
    if not dup.size:
        return [s.path for s in good], None
    a, b = owner[order[dup[0]]], owner[order[dup[0] + 1]]
    return [s.path for s in good], f"one in {labels[good[a].path]} and {labels[good[b].path]}"


def _shuffled(
    client: Client,
    files: list[str],
    labels: dict[str, str],
    model: Forecaster,
    ship: dict[str, Any],
    out: str,
    opts: Options,
) -> list[Any]:
    """Read every file, shuffle the rows by series id with Dask (each series then whole in one partition) and
    forecast each partition."""
    require("dask", "pandas")
    import dask
    import dask.dataframe as dd

    id_col = model.meta.id_col
    assert id_col is not None
    columns = list(dict.fromkeys(model.columns))
    source = ParquetSource.open(files[0])
    meta = (
        source.scan(columns)
        .head(0)
        .collect()
        .with_columns(
            pl.col(id_col).cast(pl.String),
            pl.lit(None, dtype=pl.Int64).alias(ROW),
            pl.lit(None, dtype=pl.String).alias(FILE),
        )
        .to_pandas(use_pyarrow_extension_array=True)
    )
    ddf = dd.from_map(_read_for_shuffle, files, [labels[f] for f in files], wanted=columns, id_col=id_col, meta=meta)
    parts = ddf.shuffle(on=id_col, npartitions=len(files)).to_delayed()
    tasks = [
        dask.delayed(_frame_task)(i, p, ship["model_bytes"], ship["model_name"], out, opts) for i, p in enumerate(parts)
    ]
    return list(client.compute(tasks))


def _collect(
    futures: list[Any], summary: Summary, on_progress: Callable[[int, int, int], None] | None
) -> list[PartReport]:
    from distributed import as_completed

    reports: list[PartReport] = []
    for future in as_completed(futures):
        report: PartReport = future.result()
        reports.append(report)
        summary.series += report.series
        summary.rows += report.rows
        summary.skipped += report.skipped
        summary.warnings += report.warnings
        if on_progress:
            on_progress(len(reports), len(futures), summary.series)
    reports.sort(key=lambda r: r.index)
    return reports


@contextlib.contextmanager
def _worker_errors() -> Iterator[None]:
    """Word what went wrong on a worker: a missing package, a worker that kept dying."""
    try:
        yield
    except TsrnnError:
        raise
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"a Dask worker cannot import '{exc.name}': install tsrnn with its dask extra (pip install "
            "'tsrnn[dask]'), the same version as here, where the workers run"
        ) from None
    except Exception as exc:
        if type(exc).__name__ != "KilledWorker":
            raise
        raise DataError(
            f"Dask workers died again and again running one task ({str(exc)[:160]}); usually a "
            "partition does not fit a worker's memory: give the workers more memory or split the "
            "data into more, smaller files"
        ) from None


# --- a Dask DataFrame in, a Dask DataFrame out ---------------------------------------------------------------


def forecast(
    ddf: dd.DataFrame,
    model_path: str | Path,
    *,
    shuffle: bool = False,
    errors: Literal["raise", "skip"] = "raise",
    allow_freq_mismatch: bool = False,
    device: str = "cpu",
    threads: int = 1,
) -> dd.DataFrame:
    """The forecast of every series of a Dask DataFrame in the model's long layout (id, time, inputs, future
    columns), lazily, as a Dask DataFrame with one partition per input partition: [id,] time (datetime), one
    column per output. Each series must be whole in one partition (data sorted by id and partitioned on it, or
    `shuffle=True` to shuffle the rows by id first). With errors="raise" a bad series fails the computation with
    its id; with "skip" it is left out and logged (logger tsrnn.distributed) on the worker. Every worker must
    read `model_path` (shared storage) or have it shipped with client.upload_file."""
    with needs_extras("tsrnn.distributed.forecast"):
        require("dask", "distributed", "pandas", "pyarrow")
    model = Forecaster.load(model_path)
    model.check_columns([str(c) for c in ddf.columns], "the Dask DataFrame")
    if errors not in ("raise", "skip"):
        raise ConfigError(f"errors must be 'raise' or 'skip', got {errors!r}")
    if shuffle and model.meta.id_col:
        ddf = ddf.shuffle(on=model.meta.id_col)
    import pandas as pd

    time_dtype = ddf._meta[model.meta.time_col].dtype
    utc = isinstance(time_dtype, pd.DatetimeTZDtype)
    meta = _empty_output(model, utc).to_pandas()
    opts = Options(device, threads, allow_freq_mismatch)
    return ddf.map_partitions(_pandas_part, str(Path(model_path).resolve()), opts, errors, utc, meta=meta)


def _empty_output(model: Forecaster, utc: bool) -> pl.DataFrame:
    schema: dict[str, Any] = {}
    if model.meta.id_col:
        schema[model.meta.id_col] = pl.String
    schema[model.meta.time_col] = pl.Datetime("us", "UTC" if utc else None)
    schema.update(dict.fromkeys(model.meta.output_columns(), pl.Float32))
    return pl.DataFrame(schema=schema)


def _pandas_part(
    pdf: pd.DataFrame,
    model_path: str,
    opts: Options,
    errors: str,
    utc: bool,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    model = worker_model(model_path, opts.device, opts.threads)
    name = f"partition {partition_info['number']}" if partition_info else "partition"
    frame = pl.from_pandas(pdf) if len(pdf) else pl.DataFrame()
    result = (
        forecast_frame(model, frame, name, allow_freq_mismatch=opts.allow_freq_mismatch) if len(pdf) else PartResult()
    )
    if result.skipped and errors == "raise":
        more = f" (and {len(result.skipped) - 1} more series in {name})" if len(result.skipped) > 1 else ""
        raise DataError(result.skipped[0].reason + more)
    for s in result.skipped:
        log.warning("skipped: %s", s.reason)
    empty = _empty_output(model, utc)
    if result.table is None:
        return empty.to_pandas()
    table = result.table
    t = model.meta.time_col
    zone = getattr(table.schema[t], "time_zone", None)
    if (zone is not None) != utc:  # the data's zone differs from what the frame's dtype promised
        table = table.with_columns(pl.col(t).dt.replace_time_zone("UTC" if utc else None))
    return table.cast(empty.schema).to_pandas()


# --- the command line --------------------------------------------------------------------------------------


def run_cli(args: argparse.Namespace) -> int:
    """`tsrnn forecast MODEL DATA --engine dask [--scheduler ADDRESS] [--workers N] --out FOLDER`."""
    if getattr(args, "future_csv", None):
        raise ConfigError(
            "--future-csv is not read with --engine dask; put the horizon's rows in the data (the rows "
            "after each series' last target, target empty)"
        )
    if not args.out:
        raise ConfigError(
            "--engine dask writes Parquet partitions into a folder: pass --out FOLDER (e.g. --out results/)"
        )
    if args.scheduler and args.workers:
        raise ConfigError(
            "--workers starts a local cluster of that many worker processes; with --scheduler the "
            "cluster has its own workers: leave out one of the two"
        )
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    if not is_parquet(args.data):
        raise ConfigError(
            f"{args.data}: --engine dask reads Parquet (a .parquet file, a folder of them or a glob such "
            "as 'data/*.parquet', quoted); convert the data to Parquet, or use --engine local"
        )
    check_out_dir(args.out, "--out")
    Forecaster.load(args.model)  # a bad model fails before a cluster starts
    require("dask", "distributed")
    for name in ("distributed", "distributed.shuffle"):
        logging.getLogger(name).setLevel(logging.ERROR)
    quiet = args.json
    with cluster(args.scheduler, args.workers) as client:
        summary = forecast_files(
            client,
            args.model,
            args.data,
            args.out,
            device=args.device,
            threads=args.threads or 1,
            allow_freq_mismatch=args.allow_freq_mismatch,
            on_progress=None if quiet else _progress,
            on_note=None if quiet else (lambda text: print(f"note: {text}", file=sys.stderr)),
        )
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        _print_summary(summary)
    if summary.skipped:
        files = sum(s.series is None for s in summary.skipped)
        series = len(summary.skipped) - files
        what = " and ".join(x for x in (f"{series} series" if series else "", f"{files} file(s)" if files else "") if x)
        raise DataError(
            f"{what} skipped (listed in {summary.out / SKIPPED_FILE}); the other {summary.series:,} "
            f"series were forecast into {summary.out}"
        )
    return 0


def _progress(done: int, total: int, series: int) -> None:
    tty = sys.stderr.isatty()
    if not tty and done != total and done * 10 // total == (done - 1) * 10 // total:
        return  # a log gets about ten lines
    end = "\n" if done == total or not tty else ""
    sys.stderr.write(f"\rforecast {done}/{total} partitions, {series:,} series{end}")
    sys.stderr.flush()


def _print_summary(s: Summary) -> None:
    err = sys.stderr
    for text in s.warnings[:SHOWN]:
        print(f"warning: {text}", file=err)
    if len(s.warnings) > SHOWN:
        print(f"warning: ... and {len(s.warnings) - SHOWN} more (every one is listed by --json)", file=err)
    for sk in s.skipped[:SHOWN]:
        print(
            f"skipped series '{sk.series}': {sk.reason}" if sk.series is not None else f"skipped file: {sk.reason}",
            file=err,
        )
    if len(s.skipped) > SHOWN:
        print(f"skipped: ... and {len(s.skipped) - SHOWN} more (all in {s.out / SKIPPED_FILE})", file=err)
    if s.removed:
        print(f"note: removed {s.removed} part files of an earlier run from {s.out}", file=err)
    how = f", shuffled by id from {s.files} files" if s.shuffled else ""
    print(
        f"{s.series:,} series forecast on {s.workers} Dask workers in {s.seconds:.1f} s: {s.rows:,} rows in "
        f"{s.partitions} partitions{how}",
        file=err,
    )
    print(f"wrote {s.out}", file=err)
