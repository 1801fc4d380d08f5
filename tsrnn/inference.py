"""Forecast from an exported .onnx file with ONNX Runtime, numpy and polars only (never torch)."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import polars as pl

from . import artifact, safeio
from .artifact import ModelMeta
from .config import DataConfig
from .csvio import read_header
from .data import SeriesSet, load_series, resolve_demo
from .errors import ConfigError, DataError, ModelFileError
from .known import KnownSpec, window_times
from .parquetio import is_parquet_name, parquet_sink, time_column
from .timefreq import Frequency, format_times

BATCH = 65_536
"""Series read and written per step when forecasting a file."""
SHARD_ROWS = 256
"""On CPU, a batch is cut into slices of at most this many windows (and at least one per worker), run at once
by single-threaded sessions on a pool of worker threads: no per-operator synchronisation between cores, and
each slice's working set stays in cache. Measured on 2 cores at batch 1024 against one call with 2 intra-op
threads: LSTM 1.2x, GRU 1.3x, RNN 1.5x faster; batch 1 is unchanged."""
MIN_SHARD = 4
"""Smallest slice worth a worker thread."""
IOBIND_FROM = 1024
"""On a GPU, batches of this many windows or more run through I/O binding."""


@dataclass
class ForecastResult:
    table: pl.DataFrame
    """One row per series and future step: [id,] time, one column per target."""
    provider: str
    latency_ms: float
    n_series: int
    history: SeriesSet
    out: Path | None = None
    """Where the rows were written, when forecast_csv streamed them to a file."""
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


NEVER = 2**62
"""A dispatch threshold no batch reaches."""


def override_dispatch(opts: ort.SessionOptions, path: Path, threshold: int) -> list[Any]:
    """Make a model that carries a native and an unrolled graph (`tsrnn.graph.dispatch_on_batch`) switch at
    `threshold` windows instead of its own; nothing for other models. Returns what must outlive the session."""
    try:
        if b"dispatch/threshold" not in path.read_bytes():  # a byte search: no onnx import on this path
            return []
    except OSError:
        return []
    value = ort.OrtValue.ortvalue_from_numpy(np.array([threshold], dtype=np.int64))
    opts.add_initializer("dispatch/threshold", value)
    return [value]


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


NO_CUDA = (
    "CUDA was asked for, but this onnxruntime offers no CUDA provider (install the gpu extra: "
    "pip install 'tsrnn[gpu]', with an NVIDIA driver); forecasting on the CPU instead"
)
CUDA_FAILED = (
    "CUDA was asked for, but ONNX Runtime could not start its CUDA provider here (no GPU, or a driver or "
    "CUDA library missing); forecasting on the CPU instead"
)


def choose_providers(device: str) -> list[str]:
    """ONNX Runtime providers for cpu, cuda or auto: CUDA first where onnxruntime offers it, the CPU always last
    (cuda falls back to the CPU; `Forecaster.fallback` says so)."""
    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device in ("cuda", "auto"):
        return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    raise ConfigError(f"unknown device '{device}': choose cpu, cuda or auto")


class Forecaster:
    """A loaded model: its metadata and one reusable ONNX Runtime session."""

    def __init__(
        self,
        path: Path,
        session: ort.InferenceSession,
        meta: ModelMeta,
        workers: int = 1,
        fallback: str | None = None,
        keep: list[Any] | None = None,
    ) -> None:
        self.path = path
        self.session = session
        self.meta = meta
        self.workers = workers if self.provider == "CPUExecutionProvider" else 1
        """CPU worker threads that run slices of a large batch at once (1 on a GPU)."""
        self.fallback = fallback
        """Why the model runs on the CPU although CUDA was asked for; None when it runs where asked."""
        self.io_binding = self.provider == "CUDAExecutionProvider"
        """Bind batches of IOBIND_FROM windows or more with ONNX Runtime's I/O binding: the input is copied to
        the device once and the outputs are allocated there, then copied back in one step."""
        self._pool: ThreadPoolExecutor | None = None
        self._keep = keep or []
        """Session option values (initializer overrides) that must outlive the session."""

    def close(self) -> None:
        """Shut down the worker threads of large batches (started on first use); the forecaster stays usable and
        starts them again when needed. `with Forecaster.load(path) as f:` closes it at the end of the block."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> Forecaster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu", threads: int | None = None) -> Forecaster:
        """Open `path` once for many calls. On CPU, `threads` (default: the cores this process may use) is the
        number of slices of a large batch that run at once, each in a single-threaded session; on a GPU it is
        ONNX Runtime's intra-op thread count for the CPU parts."""
        p = Path(path)
        check_model_path(p)
        if threads is not None and threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {threads}")
        providers = choose_providers(device)
        on_cpu = providers[0] == "CPUExecutionProvider"
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        keep: list[Any] = []
        if on_cpu:
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
        else:
            if threads:
                opts.intra_op_num_threads = threads
            # On a GPU the native cuDNN graph beats the unrolled one at every batch size (H200, batch 1024:
            # 1.3-6x): lift the batch-size dispatch of models that carry both out of reach.
            keep += override_dispatch(opts, p, NEVER)
        try:
            session = ort.InferenceSession(str(p), sess_options=opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable files
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelFileError(f"{p.name}: not a readable ONNX model ({first[:160]})") from None
        meta = read_meta(session, p)
        fallback = None
        if device == "cuda" and session.get_providers()[0] != "CUDAExecutionProvider":
            fallback = NO_CUDA if "CUDAExecutionProvider" not in ort.get_available_providers() else CUDA_FAILED
        return cls(p, session, meta, workers=threads or available_cores(), fallback=fallback, keep=keep)

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    @property
    def input_len(self) -> int:
        return self.meta.input_len

    @property
    def horizon(self) -> int:
        return self.meta.horizon

    @property
    def targets(self) -> list[str]:
        return list(self.meta.targets)

    @property
    def inputs(self) -> list[str]:
        return list(self.meta.inputs)

    @functools.cached_property
    def freq(self) -> Frequency:
        return Frequency.from_spec(self.meta.freq)

    @property
    def quantiles(self) -> list[float]:
        return list(self.meta.quantiles)

    @property
    def task(self) -> str:
        return self.meta.task

    @functools.cached_property
    def known_spec(self) -> KnownSpec:
        return KnownSpec.from_meta(self.meta)

    def predict_outputs(self, history: np.ndarray, known: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Raw history (N, input_len, n_inputs) [and, for a model with known inputs, known (N, input_len + horizon,
        n_known): `known_inputs` computes them from timestamps] -> every output: forecast (N, horizon, n_targets),
        and quantiles (N, horizon, n_targets, Q) or probability (N, 1) where the model has them."""
        feeds = self._feeds(history, known)
        names = [o.name for o in self.session.get_outputs()]
        n = len(feeds[artifact.HISTORY_INPUT])
        if self.io_binding and n >= IOBIND_FROM:
            return dict(zip(names, self._run_bound(names, feeds), strict=True))
        if self.workers <= 1 or n < 2 * MIN_SHARD:
            return dict(zip(names, self.session.run(names, feeds), strict=True))
        slices = max(min(self.workers, n // MIN_SHARD), -(-n // SHARD_ROWS))
        bounds = np.linspace(0, n, slices + 1).round().astype(int)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tsrnn-ort")
        parts = list(
            self._pool.map(
                lambda ab: self.session.run(names, {k: v[ab[0] : ab[1]] for k, v in feeds.items()}),
                itertools.pairwise(bounds),
            )
        )
        return {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(names)}

    def _feeds(self, history: np.ndarray, known: np.ndarray | None) -> dict[str, np.ndarray]:
        x = np.ascontiguousarray(history, dtype=np.float32)
        want = (self.input_len, len(self.inputs))
        if x.ndim != 3 or x.shape[1:] != want:
            raise ConfigError(f"history must have shape (batch, {want[0]}, {want[1]}), got {x.shape}")
        feeds = {artifact.HISTORY_INPUT: x}
        k = self.meta.known
        if not k:
            if known is not None:
                raise ConfigError(f"{self.path.name} has no known inputs; call predict without them")
            return feeds
        if known is None:
            raise ConfigError(
                f"{self.path.name} also reads known inputs ({', '.join(k)}) for the window and the "
                "horizon: pass known=Forecaster.known_inputs(...), or use forecast_csv"
            )
        kn = np.ascontiguousarray(known, dtype=np.float32)
        want_k = (len(x), self.input_len + self.horizon, len(k))
        if kn.shape != want_k:
            raise ConfigError(f"known inputs must have shape {want_k}, got {kn.shape}")
        feeds[artifact.KNOWN_INPUT] = kn
        return feeds

    def known_inputs(
        self, history_times: np.ndarray, freq: Frequency | None = None, future: np.ndarray | None = None
    ) -> np.ndarray | None:
        """(N, input_len + horizon, n_known) known inputs for windows whose timestamps are history_times
        (N, input_len), the horizon continuing each on `freq` (default: the model's); `future` (N, input_len +
        horizon, F) holds the values of the model's future columns. None for a model without known inputs."""
        if not self.meta.known:
            return None
        times = np.asarray(history_times, dtype="datetime64[us]")
        full = window_times(times[:, -1], times, self.horizon, freq or self.freq)
        out = self.known_spec.compute(full.reshape(-1)).reshape(len(times), full.shape[1], -1)
        if self.meta.future:
            want = (len(times), full.shape[1], len(self.meta.future))
            if future is None or future.shape != want:
                got = "none" if future is None else str(future.shape)
                raise ConfigError(
                    f"{self.path.name} needs its future columns ({', '.join(self.meta.future)}) for the "
                    f"window and the horizon, shape {want}; got {got}"
                )
            out = np.concatenate([out, future.astype(np.float32)], axis=2)
        return out

    def _run_bound(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        device = "cuda" if self.provider == "CUDAExecutionProvider" else "cpu"
        binding = self.session.io_binding()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, value)
        for name in names:
            binding.bind_output(name, device)
        self.session.run_with_iobinding(binding)
        return list(binding.copy_outputs_to_cpu())

    def predict(self, history: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
        """Raw history (N, input_len, n_inputs) [and known inputs] -> the first output: the raw point forecast
        (N, horizon, n_targets), or the probability of a rise (N, 1) for a direction model."""
        return next(iter(self.predict_outputs(history, known).values()))

    def window_inputs(
        self, data: SeriesSet, back: int = 0, series: slice = slice(None), horizon_future: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """History (N, L, C) and known inputs of the windows ending `back` steps before each series' end. The
        future columns' values for the horizon come from the data when `back` covers it, else from
        `horizon_future` (N, H, F)."""
        L, H = self.input_len, self.horizon
        end = [len(v) - back for v in data.values[series]]
        history = np.stack([v[e - L : e] for v, e in zip(data.values[series], end, strict=True)])
        if not self.meta.known:
            return history, None
        times = np.stack([t[e - L : e] for t, e in zip(data.times[series], end, strict=True)])
        future = None
        if self.meta.future:
            if data.future is None:
                raise ConfigError(f"{data.path.name}: loaded without the model's future columns")
            past = np.stack([f[e - L : e] for f, e in zip(data.future[series], end, strict=True)])
            if back >= H:
                ahead = np.stack([f[e : e + H] for f, e in zip(data.future[series], end, strict=True)])
            elif horizon_future is not None:
                ahead = horizon_future
            else:
                raise ConfigError(
                    f"{self.path.name} needs the values of {', '.join(self.meta.future)} for the {H} steps it forecasts"
                )
            future = np.concatenate([past, ahead], axis=1)
        return history, self.known_inputs(times, data.freq, future)

    def load_history(self, csv: str | os.PathLike[str]) -> SeriesSet:
        """Read a CSV (or Parquet data) with the model's own columns; name any the file lacks."""
        csv = resolve_demo(csv)
        self.check_columns(read_header(csv), Path(csv).name)
        return load_series(csv, self.data_config())

    @property
    def columns(self) -> list[str]:
        """The columns the model reads from a data file: time, inputs, future columns and the id."""
        m = self.meta
        return [m.time_col, *self.inputs, *m.future] + ([m.id_col] if m.id_col else [])

    def check_columns(self, cols: list[str], file: str) -> None:
        """Refuse a data file that lacks some of the model's columns, naming them."""
        needed = self.columns
        missing = [c for c in needed if c not in cols]
        if missing:
            raise DataError(
                f"{file}: columns {', '.join(repr(c) for c in missing)} are missing; the model "
                f"{self.path.name} needs {', '.join(needed)}"
            )

    def data_config(self) -> DataConfig:
        """How the loader reads data for this model: its columns, and its session calendar or none."""
        m = self.meta
        return DataConfig(
            time_col=m.time_col,
            id_col=m.id_col,
            sessions=self.freq.sessions or "none",
            targets=tuple(self.targets),
            features=tuple(c for c in self.inputs if c not in self.targets),
            future=tuple(m.future),
        )

    def forecast_csv(
        self,
        csv: str | os.PathLike[str],
        out: str | os.PathLike[str] | None = None,
        batch_size: int = BATCH,
        on_progress: Callable[[int, int], None] | None = None,
        allow_freq_mismatch: bool = False,
        future_csv: str | os.PathLike[str] | None = None,
    ) -> ForecastResult:
        """Forecast every series in the CSV from its last input_len rows, `batch_size` series per ONNX Runtime
        call (one call for most files). With `out`, each batch's rows are written as soon as they exist (to a
        temporary file renamed at the end) and the result keeps only the first batch's table. Data at another
        frequency than the model's is refused unless `allow_freq_mismatch` (the dates then follow the data). A model
        with future columns reads their horizon values from the CSV's rows after each series' last observed target,
        or from `future_csv` (long format: id, time, columns)."""
        if future_csv is not None and not self.meta.future:
            raise ConfigError(f"{self.path.name} has no future columns; forecast without --future-csv")
        data = self.load_history(csv)
        self.check_frequency(data, allow_freq_mismatch)
        short = [(sid, len(v)) for sid, v in zip(data.ids, data.values, strict=True) if len(v) < self.input_len]
        if short:
            sid, n = short[0]
            who = f"series '{sid}'" if sid else "the series"
            raise DataError(f"{data.path.name}: {who} has {n} rows; the model needs the last {self.input_len}")
        warnings = self.history_warnings(data)
        ahead = None
        if self.meta.future:
            from .future import horizon_values

            ahead = horizon_values(
                data,
                future_csv or csv,
                list(self.meta.future),
                self.horizon,
                same_file=future_csv is None,
                model=self.path.name,
            )
            if future_csv is None:  # the rows without a target were the future rows, not a dropped tail
                warnings = [w for w in warnings if w.kind != "tail_dropped"]
        tables: list[pl.DataFrame] = []
        latency = 0.0
        parquet = out is not None and is_parquet_name(out)
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(parquet_sink(out) if parquet else _csv_sink(out)) if out else None
            for a in range(0, data.n_series, batch_size):
                b = min(a + batch_size, data.n_series)
                history, known = self.window_inputs(data, 0, slice(a, b), None if ahead is None else ahead[a:b])
                t0 = time.perf_counter()
                outputs = self.predict_outputs(history, known)
                latency += (time.perf_counter() - t0) * 1000
                table = self._table(data, outputs, a, b, typed=parquet)
                if sink is None or not tables:
                    tables.append(self._table(data, outputs, a, b) if parquet else table)
                if sink is not None:
                    sink(table)
                if on_progress:
                    on_progress(b, data.n_series)
        return ForecastResult(
            pl.concat(tables), self.provider, latency, data.n_series, data, Path(out) if out else None, warnings
        )

    def check_frequency(self, data: SeriesSet, allow_mismatch: bool = False) -> None:
        """Refuse data on another time grid than the model's (a daily file for a monthly model)."""
        model = self.meta.freq
        if data.freq.code == model.code or allow_mismatch:
            return
        raise DataError(
            f"{data.path.name}: the data is {data.freq.label} ({data.freq.code}) but the model {self.path.name} was "
            f"trained on {model.label} data ({model.code}); its forecast steps would not mean what the dates say. "
            f"Forecast {model.label} data, or pass --allow-freq-mismatch to forecast anyway (dates then follow the "
            "data's grid)"
        )

    def history_warnings(self, data: SeriesSet) -> list[HistoryWarning]:
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
        if self.known_spec.holidays is not None and data.n_series:
            last = max(t[-1] for t in data.times)
            beyond = self.known_spec.uncovered(window_times(np.array([last]), None, self.horizon, data.freq)[0])
            if beyond is not None:
                h = self.known_spec.holidays
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
            L = self.input_len
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

    def _table(
        self, data: SeriesSet, outputs: dict[str, np.ndarray], a: int, b: int, typed: bool = False
    ) -> pl.DataFrame:
        """Rows of series a..b: [id,] future time (ISO text, or `typed` datetimes for Parquet), forecast columns."""
        last = np.array([t[-1] for t in data.times[a:b]], dtype="datetime64[us]")
        stamps = window_times(last, None, self.horizon, data.freq).reshape(-1)  # each series' next steps
        cols: dict[str, Any] = {}
        if data.id_col:
            cols[data.id_col] = np.repeat(np.asarray(data.ids[a:b], dtype=object), self.horizon)
        cols[data.time_col] = time_column(data.time_col, stamps, data.utc) if typed else format_times(stamps, data.utc)
        cols.update(self.value_columns(outputs))
        return pl.DataFrame(cols)

    def value_columns(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Forecast columns, flattened over series and steps: one per target, one per target and quantile
        (passengers_q10, ...), or the probability of a rise (ModelMeta.output_columns names them)."""
        names = self.meta.output_columns()
        if "probability" in outputs:
            return {names[0]: outputs["probability"][:, 0]}
        if "quantiles" in outputs:
            q = outputs["quantiles"]
            nq = len(self.quantiles)
            return {names[j * nq + k]: q[:, :, j, k].reshape(-1) for j in range(len(self.targets)) for k in range(nq)}
        return {name: outputs["forecast"][:, :, j].reshape(-1) for j, name in enumerate(names)}


def check_model_path(p: Path) -> None:
    """A model path must be an existing file."""
    if p.is_dir():
        raise ModelFileError(f"{p}: is a folder, not a model file; give the .onnx file inside it")
    if not p.exists():
        raise ModelFileError(f"{p}: model file not found")
    if not p.is_file():
        raise ModelFileError(f"{p}: is not a regular file; give an .onnx model file")


def read_meta(session: ort.InferenceSession, p: Path) -> ModelMeta:
    """The checked metadata of a loaded model: against itself and against the graph's shapes."""
    custom = session.get_modelmeta().custom_metadata_map
    if artifact.METADATA_KEY not in custom:
        raise ModelFileError(f"{p.name}: an ONNX model, but not one exported by tsrnn (no tsrnn metadata)")
    damaged = "the file was edited or damaged: export the model again"
    try:
        meta = artifact.loads(custom[artifact.METADATA_KEY])
        artifact.check_graph(
            meta,
            {i.name: list(i.shape) for i in session.get_inputs()},
            {o.name: list(o.shape) for o in session.get_outputs()},
        )
    except json.JSONDecodeError as exc:
        raise ModelFileError(
            f"{p.name}: the tsrnn metadata is not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}); {damaged}"
        ) from None
    except artifact.MetadataError as exc:
        raise ModelFileError(f"{p.name}: {exc}" + ("" if exc.newer else f"; {damaged}")) from None
    return meta


@contextlib.contextmanager
def _csv_sink(path: str | os.PathLike[str]) -> Iterator[Callable[[pl.DataFrame], None]]:
    """Append tables to `path` under `safeio`'s rules: a temporary CSV beside it renamed to it only when all
    went well (a device, FIFO or /dev/stdout is written through); a folder or an unwritable place is a
    ConfigError, and no temporary file stays behind."""
    try:
        stream = safeio.StreamWriter(path, example="forecast.csv")
    except OSError as exc:
        raise ConfigError(_cannot_write(path, exc)) from None
    written = [0]

    def write(table: pl.DataFrame) -> None:
        try:
            table.write_csv(stream.file, include_header=written[0] == 0)
            stream.file.flush()  # a pipe's reader gets each batch as it is made
        except OSError as exc:
            raise ConfigError(_cannot_write(path, exc)) from None
        written[0] += table.height

    try:
        yield write
    except BaseException:
        stream.abort()
        raise
    try:
        stream.commit()
    except OSError as exc:
        raise ConfigError(_cannot_write(path, exc)) from None


def _cannot_write(path: str | os.PathLike[str], exc: OSError) -> str:
    return f"cannot write {path}: {exc.strerror or exc}; choose another --out path"


def save_table(table: pl.DataFrame, path: str | os.PathLike[str], time_col: str | None = None) -> Path:
    """Write a forecast CSV with `safeio.atomic_write` (never half a file; devices and pipes written through), or
    Parquet when the name ends in .parquet (the ISO text of `time_col` then becomes datetimes, as
    `forecast_csv` writes them)."""
    if is_parquet_name(path):
        from .parquetio import typed_times, write_parquet

        return write_parquet(typed_times(table, time_col) if time_col else table, path)
    try:
        return safeio.atomic_write(path, lambda tmp: table.write_csv(tmp), example="forecast.csv")
    except OSError as exc:
        raise ConfigError(_cannot_write(path, exc)) from None
