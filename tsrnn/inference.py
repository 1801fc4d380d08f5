"""Forecast from an exported .onnx file with ONNX Runtime, numpy and polars only (never torch)."""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import polars as pl

from . import artifact
from .config import DataConfig
from .csvio import atomic_write, read_header
from .data import SeriesSet, load_series, resolve_demo
from .errors import ConfigError, DataError, ModelFileError
from .grid import grid_times
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


NO_CUDA = ("CUDA was asked for, but this onnxruntime offers no CUDA provider (install the gpu extra: "
           "pip install 'tsrnn[gpu]', with an NVIDIA driver); forecasting on the CPU instead")
CUDA_FAILED = ("CUDA was asked for, but ONNX Runtime could not start its CUDA provider here (no GPU, or a driver or "
               "CUDA library missing); forecasting on the CPU instead")


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

    def __init__(self, path: Path, session: ort.InferenceSession, meta: dict[str, Any], workers: int = 1,
                 fallback: str | None = None, keep: list[Any] | None = None) -> None:
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

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu", threads: int | None = None) -> Forecaster:
        """Open `path` once for many calls. On CPU, `threads` (default: the cores this process may use) is the
        number of slices of a large batch that run at once, each in a single-threaded session; on a GPU it is
        ONNX Runtime's intra-op thread count for the CPU parts."""
        p = Path(path)
        if not p.is_file():
            raise ModelFileError(f"{p}: model file not found")
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
        except ConfigError:
            raise
        except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable files
            raise ModelFileError(f"{p.name}: not a readable ONNX model ({str(exc).splitlines()[0][:160]})") from None
        custom = session.get_modelmeta().custom_metadata_map
        if artifact.METADATA_KEY not in custom:
            raise ModelFileError(f"{p.name}: an ONNX model, but not one exported by tsrnn (no tsrnn metadata)")
        try:
            meta = artifact.loads(custom[artifact.METADATA_KEY], p.name)
        except ValueError as exc:
            raise ModelFileError(str(exc)) from None
        fallback = None
        if device == "cuda" and session.get_providers()[0] != "CUDAExecutionProvider":
            fallback = NO_CUDA if "CUDAExecutionProvider" not in ort.get_available_providers() else CUDA_FAILED
        return cls(p, session, meta, workers=threads or available_cores(), fallback=fallback, keep=keep)

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    @property
    def input_len(self) -> int:
        return int(self.meta["input_len"])

    @property
    def horizon(self) -> int:
        return int(self.meta["horizon"])

    @property
    def targets(self) -> list[str]:
        return list(self.meta["targets"])

    @property
    def inputs(self) -> list[str]:
        return list(self.meta["inputs"])

    @property
    def freq(self) -> Frequency:
        return Frequency(**self.meta["freq"])

    @property
    def quantiles(self) -> list[float]:
        return list(self.meta.get("quantiles") or [])

    @property
    def task(self) -> str:
        return str(self.meta.get("task", "forecast"))

    def predict_outputs(self, history: np.ndarray) -> dict[str, np.ndarray]:
        """Raw history (N, input_len, n_inputs) -> every output: forecast (N, horizon, n_targets), and
        quantiles (N, horizon, n_targets, Q) or probability (N, 1) where the model has them."""
        x = np.ascontiguousarray(history, dtype=np.float32)
        want = (self.input_len, len(self.inputs))
        if x.ndim != 3 or x.shape[1:] != want:
            raise ConfigError(f"history must have shape (batch, {want[0]}, {want[1]}), got {x.shape}")
        names = [o.name for o in self.session.get_outputs()]
        n = len(x)
        if self.io_binding and n >= IOBIND_FROM:
            return dict(zip(names, self._run_bound(names, x), strict=True))
        if self.workers <= 1 or n < 2 * MIN_SHARD:
            return dict(zip(names, self.session.run(names, {"history": x}), strict=True))
        slices = max(min(self.workers, n // MIN_SHARD), -(-n // SHARD_ROWS))
        bounds = np.linspace(0, n, slices + 1).round().astype(int)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tsrnn-ort")
        parts = list(self._pool.map(lambda ab: self.session.run(names, {"history": x[ab[0]:ab[1]]}),
                                    itertools.pairwise(bounds)))
        return {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(names)}

    def _run_bound(self, names: list[str], x: np.ndarray) -> list[np.ndarray]:
        device = "cuda" if self.provider == "CUDAExecutionProvider" else "cpu"
        binding = self.session.io_binding()
        binding.bind_cpu_input("history", x)
        for name in names:
            binding.bind_output(name, device)
        self.session.run_with_iobinding(binding)
        return list(binding.copy_outputs_to_cpu())

    def predict(self, history: np.ndarray) -> np.ndarray:
        """Raw history (N, input_len, n_inputs) -> the first output: the raw point forecast
        (N, horizon, n_targets), or the probability of a rise (N, 1) for a direction model."""
        return next(iter(self.predict_outputs(history).values()))

    def load_history(self, csv: str | os.PathLike[str]) -> SeriesSet:
        """Read a CSV with the model's own columns; name any the file lacks."""
        csv = resolve_demo(csv)
        cols = read_header(csv)
        needed = [self.meta["time_col"], *self.inputs] + ([self.meta["id_col"]] if self.meta.get("id_col") else [])
        missing = [c for c in needed if c not in cols]
        if missing:
            raise DataError(
                f"{Path(csv).name}: columns {', '.join(repr(c) for c in missing)} are missing; the model "
                f"{self.path.name} needs {', '.join(needed)}"
            )
        data_cfg = DataConfig(
            time_col=self.meta["time_col"],
            id_col=self.meta.get("id_col"),
            targets=tuple(self.targets),
            features=tuple(c for c in self.inputs if c not in self.targets),
        )
        return load_series(csv, data_cfg)

    def forecast_csv(self, csv: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
                     batch_size: int = BATCH, on_progress: Callable[[int, int], None] | None = None) -> ForecastResult:
        """Forecast every series in the CSV from its last input_len rows, `batch_size` series per ONNX Runtime
        call (one call for most files). With `out`, each batch's rows are written as soon as they exist (to a
        temporary file renamed at the end) and the result keeps only the first batch's table."""
        data = self.load_history(csv)
        short = [(sid, len(v)) for sid, v in zip(data.ids, data.values, strict=True) if len(v) < self.input_len]
        if short:
            sid, n = short[0]
            who = f"series '{sid}'" if sid else "the series"
            raise DataError(f"{data.path.name}: {who} has {n} rows; the model needs the last {self.input_len}")
        tables: list[pl.DataFrame] = []
        latency = 0.0
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(_csv_sink(out)) if out else None
            for a in range(0, data.n_series, batch_size):
                b = min(a + batch_size, data.n_series)
                history = np.stack([v[-self.input_len:] for v in data.values[a:b]])
                t0 = time.perf_counter()
                outputs = self.predict_outputs(history)
                latency += (time.perf_counter() - t0) * 1000
                table = self._table(data, outputs, a, b)
                if sink is None or not tables:
                    tables.append(table)
                if sink is not None:
                    sink(table)
                if on_progress:
                    on_progress(b, data.n_series)
        return ForecastResult(pl.concat(tables), self.provider, latency, data.n_series, data,
                              Path(out) if out else None)

    def _table(self, data: SeriesSet, outputs: dict[str, np.ndarray], a: int, b: int) -> pl.DataFrame:
        """Rows of series a..b: [id,] future time, forecast columns."""
        last = np.array([t[-1] for t in data.times[a:b]], dtype="datetime64[us]")
        steps = np.tile(np.arange(1, self.horizon + 1), len(last))
        stamps = grid_times(np.repeat(last, self.horizon), steps, self.freq)  # each series' next steps
        cols: dict[str, Any] = {}
        if data.id_col:
            cols[data.id_col] = np.repeat(np.asarray(data.ids[a:b], dtype=object), self.horizon)
        cols[data.time_col] = format_times(stamps, data.utc)
        cols.update(self.value_columns(outputs))
        return pl.DataFrame(cols)

    def value_columns(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Forecast columns, flattened over series and steps: one per target, one per target and quantile
        (passengers_q10, ...), or the probability of a rise."""
        if "probability" in outputs:
            return {f"{self.targets[0]}_up_probability": outputs["probability"][:, 0]}
        if "quantiles" in outputs:
            q = outputs["quantiles"]
            return {f"{name}_q{level * 100:g}": q[:, :, j, k].reshape(-1)
                    for j, name in enumerate(self.targets) for k, level in enumerate(self.quantiles)}
        return {name: outputs["forecast"][:, :, j].reshape(-1) for j, name in enumerate(self.targets)}


@contextlib.contextmanager
def _csv_sink(path: str | os.PathLike[str]) -> Iterator[Callable[[pl.DataFrame], None]]:
    """Append tables to a temporary CSV beside `path`; rename it to `path` only when all went well."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; choose another --out path") from None
    written = [0]

    def write(table: pl.DataFrame) -> None:
        with open(fd, "ab", closefd=False) as fh:
            table.write_csv(fh, include_header=written[0] == 0)
        written[0] += table.height

    done = False
    try:
        yield write
        done = True
    finally:
        os.close(fd)
        if not done:
            Path(tmp).unlink(missing_ok=True)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


def save_table(table: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a forecast CSV atomically."""
    try:
        return atomic_write(path, lambda tmp: table.write_csv(tmp))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; choose another --out path") from None
