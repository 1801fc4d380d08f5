"""What every topic of the speed benchmark shares: run settings, the benchmark windows, the variants, alternating
timing blocks and the monitor of other processes' CPU use."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from tsrnn import __version__
from tsrnn.core.config import CELL_NAMES, DataConfig, ModelConfig, TrainConfig
from tsrnn.data.loader import demo_path, load_series
from tsrnn.data.windows import Split, make_windows
from tsrnn.export.exporter import ExportResult, export_onnx
from tsrnn.export.quantize import quantize_model
from tsrnn.model.networks import RecurrentForecaster
from tsrnn.model.train import fit
from tsrnn.modelfile.artifact import ModelMeta

HIDDEN_SIZE = 64
NUM_LAYERS = 2
INPUT_LEN = 48
HORIZON = 12
VAL_WINDOWS = 512
STORE_BATCH = 256
"""Batch size of the one epoch that trains a model for the inference topics."""
SWITCH_PAUSE = 0.05
"""Seconds of rest before each timed block, so the other side's spinning threads have gone idle."""
QUIET = 0.1
"""Background load (cores) above which the timings are flagged as unreliable."""

SHARED = Path("/work/shared/data")
VIC_ELEC = SHARED / "vic_elec_halfhourly.csv"


@dataclass(frozen=True)
class Settings:
    """How much each topic measures: the full run, or `--quick` for a look in about two minutes."""

    quick: bool
    threads: int
    train_windows: int
    small_rounds: int
    small_calls: int
    big_rounds: int
    big_batch: int
    train_rounds: int
    peak_runs: int
    series: int
    startup_runs: int

    @classmethod
    def make(cls, quick: bool, threads: int, series: int | None) -> Settings:
        if quick:
            # 5,200 windows keep 20+ full steps at batch 256, so tsrnn's MIN_STEPS cycling stays out of it.
            return cls(True, threads, 5_200, 3, 20, 3, 1024, 2, 3, series or 5_000, 3)
        return cls(False, threads, 10_000, 8, 50, 9, 1024, 5, 7, series or 100_000, 5)


@dataclass(frozen=True)
class Variant:
    """One recurrent network of the benchmark: hidden 64, 2 layers, window 48, horizon 12."""

    cell: str
    bidirectional: bool = False

    @property
    def name(self) -> str:
        return f"{'bi-' if self.bidirectional else ''}{self.cell}"

    @property
    def config(self) -> ModelConfig:
        return ModelConfig(
            cell=self.cell,
            hidden_size=HIDDEN_SIZE,
            num_layers=NUM_LAYERS,
            bidirectional=self.bidirectional,
            input_len=INPUT_LEN,
            horizon=HORIZON,
        )


VARIANTS = (Variant("rnn"), Variant("gru"), Variant("lstm"), Variant("lstm", bidirectional=True))


@dataclass
class BenchData:
    """Windows (N, INPUT_LEN + HORIZON, 1) split in time order, and where they came from."""

    split: Split
    source: str
    freq: dict[str, Any]
    time_col: str
    target: str


def load_data(train_windows: int) -> BenchData:
    """vic_elec half-hourly demand when /work/shared holds it, else the bundled demo series tiled."""
    size = INPUT_LEN + HORIZON
    need = train_windows + VAL_WINDOWS
    if VIC_ELEC.is_file():
        data = load_series(VIC_ELEC, DataConfig(targets=("demand",)))
        all_windows = make_windows(data.values[0], size)
        stride = max(1, len(all_windows) // need)
        windows = all_windows[::stride][:need]
        source = (
            f"{VIC_ELEC.name} (demand, {len(data.values[0])} half-hourly rows): {len(windows)} windows of "
            f"{size} steps, one every {stride} steps, the last {VAL_WINDOWS} for validation"
        )
    else:
        data = load_series(demo_path())
        windows = _tiled_demo(data.values[0], size, need)
        source = (
            f"bundled {demo_path().name} ({len(data.values[0])} monthly rows) tiled: each copy scaled by a "
            f"random factor in [0.5, 2] with 2% multiplicative noise (seed 0), windows cut within each copy; "
            f"{len(windows)} windows of {size} steps, the last {VAL_WINDOWS} for validation"
        )
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    train, val = windows[:-VAL_WINDOWS], windows[-VAL_WINDOWS:]
    parts: dict[str, Any] = {
        "input_len": INPUT_LEN,
        "horizon": HORIZON,
        "val_len": VAL_WINDOWS,
        "train": train,
        "val": val,
        "test": val[:1],
        "test_len": HORIZON,
        "insample": [],
        "mean": train.mean(axis=(0, 1)),
        "std": train.std(axis=(0, 1)),
    }
    # Only fit's fields matter here; pass those this version of Split has (test_len is newer; fields with
    # defaults, such as the gap and known-input statistics, keep them).
    split = Split(**{f.name: parts[f.name] for f in fields(Split) if f.name in parts})
    return BenchData(split, source, vars(data.freq), data.time_col, data.targets[0])


def _tiled_demo(values: np.ndarray, size: int, need: int) -> np.ndarray:
    """Windows from perturbed copies of a short series until `need` of them exist (no seams crossed)."""
    rng = np.random.default_rng(0)
    per_copy = len(values) - size + 1
    parts = []
    for _ in range(-(-need // per_copy)):
        copy = values * rng.uniform(0.5, 2.0) * (1.0 + 0.02 * rng.standard_normal(values.shape))
        parts.append(make_windows(copy.astype(np.float32), size))
    return np.concatenate(parts)[:need]


def metadata(cfg: ModelConfig, data: BenchData) -> ModelMeta:
    """The metadata tsrnn requires inside an exported file."""
    freq = {k: v for k, v in data.freq.items() if k != "sessions" or v is not None}
    return ModelMeta.from_dict(
        {
            "tsrnn_version": __version__,
            "cell": cfg.cell,
            "cell_name": CELL_NAMES[cfg.cell],
            "bidirectional": cfg.bidirectional,
            "num_layers": cfg.num_layers,
            "hidden_size": cfg.hidden_size,
            "input_len": cfg.input_len,
            "horizon": cfg.horizon,
            "scaling": cfg.scaling,
            "time_col": data.time_col,
            "targets": [data.target],
            "inputs": [data.target],
            "freq": freq,
        }
    )


def alternating_medians(fns: Sequence[Callable[[], object]], rounds: int, calls: int, warmup: int) -> list[float]:
    """Median wall time per call of each function, timed in alternating blocks of `calls` calls.

    Alternating makes every side see the same machine: a background job that starts half-way through slows
    all of them, instead of only the one measured last. Each block starts after a pause and one untimed call,
    because the threads of the side that just ran keep spinning for a while and would steal the cores.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, out in zip(fns, times, strict=True):
            time.sleep(SWITCH_PAUSE)
            fn()
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


class CpuMonitor:
    """CPU time used by other processes on this machine while a block of code ran, in cores (Linux only).

    This process and the children it has waited for (the CLI runs of the subprocess topics) are not 'other'."""

    def __init__(self) -> None:
        self.start = self._sample()
        self.cores: float | None = None

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        """(machine busy seconds, CPU seconds of this process and its children, wall seconds), or None."""
        try:
            ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
        own = os.times()
        mine = own.user + own.system + own.children_user + own.children_system
        return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), mine, time.perf_counter()

    def stop(self) -> float | None:
        """Average cores that other processes kept busy since the monitor started."""
        end = self._sample()
        if self.start is not None and end is not None:
            busy, own, wall = (e - s for e, s in zip(end, self.start, strict=True))
            self.cores = max(0.0, (busy - own) / max(wall, 1e-9))
        return self.cores


def cores(load: float | None) -> str:
    return "?" if load is None else f"{load:.2f}"


def default_threads() -> int:
    """The cores this process may run on (what `nproc` prints)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or the platform's word for it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def table(header: Sequence[str], align: str, rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table; `align` has one letter per column, l or r."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


@dataclass
class Prepared:
    """One variant trained, exported and quantized."""

    variant: Variant
    model: RecurrentForecaster
    export: ExportResult
    int8_path: Path


class ModelStore:
    """The trained model of each variant, shared by the topics of one run.

    The training topic leaves its last `fit` (batch 256) here; a topic that needs a model the training topic
    did not make trains one epoch at batch 256 itself. Exports and INT8 copies are made once, in `workdir`."""

    def __init__(self, data: BenchData, settings: Settings, workdir: Path) -> None:
        self.data = data
        self.settings = settings
        self.workdir = workdir
        self.trained: dict[Variant, RecurrentForecaster] = {}
        self._prepared: dict[Variant, Prepared] = {}

    def model(self, variant: Variant) -> RecurrentForecaster:
        if variant not in self.trained:
            tc = TrainConfig(epochs=1, batch_size=STORE_BATCH, threads=self.settings.threads)
            self.trained[variant] = fit(variant.config, tc, self.data.split).model
        return self.trained[variant]

    def prepare(self, variant: Variant) -> Prepared:
        """Export the model with `tsrnn.export.exporter.export_onnx` and quantize it with
        `tsrnn.export.quantize.quantize_model`."""
        if variant not in self._prepared:
            model = self.model(variant).eval()
            history = self.data.split.val[:, :INPUT_LEN]
            path = self.workdir / f"{variant.name}.onnx"
            exported = export_onnx(model, path, metadata(variant.config, self.data), history[:256])
            self._prepared[variant] = Prepared(variant, model, exported, quantize_model(exported.path))
        return self._prepared[variant]
