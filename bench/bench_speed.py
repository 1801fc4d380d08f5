"""Speed benchmark: torch eager against the exported model in ONNX Runtime, and training seconds per epoch.

Run from the repository root: ``.venv/bin/python -m bench.bench_speed``. Prints one Markdown table and writes
the same report to ``bench/results.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from tsrnn import __version__
from tsrnn.config import CELL_NAMES, DataConfig, ModelConfig, TrainConfig
from tsrnn.data import demo_path, load_series
from tsrnn.export import export_onnx
from tsrnn.inference import SHARD_ROWS, Forecaster
from tsrnn.models import RecurrentForecaster
from tsrnn.train import fit
from tsrnn.windows import Split, make_windows

HIDDEN_SIZE = 64
NUM_LAYERS = 2
INPUT_LEN = 48
HORIZON = 12
TRAIN_WINDOWS = 10_000
VAL_WINDOWS = 512
BIG_BATCH = 1024
TRAIN_BATCHES = (32, 256)
SMALL_ROUNDS, SMALL_CALLS = 8, 50
BIG_ROUNDS = 9
SWITCH_PAUSE = 0.05
"""Seconds of rest before each timed block, so the other backend's spinning threads have gone idle."""
QUIET = 0.1
"""Background load (cores) above which the timings are flagged as unreliable."""
VARIANTS: tuple[tuple[str, bool], ...] = (("rnn", False), ("gru", False), ("lstm", False), ("lstm", True))
TARGET_SMALL = 3.0
"""Required ONNX Runtime speed-up over torch eager at batch 1."""
TARGET_BIG = 1.5
"""Required ONNX Runtime speed-up over torch eager at batch BIG_BATCH."""

VIC_ELEC = Path("/work/shared/data/vic_elec_halfhourly.csv")
RESULTS = Path(__file__).with_name("results.md")


@dataclass
class BenchData:
    """Windows (N, INPUT_LEN + HORIZON, 1) split in time order, and where they came from."""

    split: Split
    source: str
    freq: dict[str, Any]
    time_col: str
    target: str


@dataclass
class Row:
    """Everything measured for one variant."""

    name: str
    torch_b1_us: float
    ort_b1_us: float
    torch_big_wps: float
    ort_big_wps: float
    epoch_s: dict[int, float]
    parity_abs: float
    parity_rel: float
    onnx_ops: str
    load_training: float | None
    """Cores kept busy by other processes while the training epochs ran."""
    load_timing: float | None
    """Cores kept busy by other processes while the inference timings ran."""

    @property
    def speedup_b1(self) -> float:
        return self.torch_b1_us / self.ort_b1_us

    @property
    def speedup_big(self) -> float:
        return self.ort_big_wps / self.torch_big_wps


def load_data() -> BenchData:
    """vic_elec half-hourly demand when /work/shared holds it, else the bundled demo series tiled."""
    size = INPUT_LEN + HORIZON
    need = TRAIN_WINDOWS + VAL_WINDOWS
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
    # Only fit's fields matter here; pass those this version of Split has (test_len is newer).
    split = Split(**{f.name: parts[f.name] for f in fields(Split)})
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


def paired_medians(
    first: Callable[[], object], second: Callable[[], object], rounds: int, calls: int, warmup: int
) -> tuple[float, float]:
    """Median wall time per call of two functions, timed in alternating blocks of `calls` calls.

    Alternating makes both sides see the same machine: a background job that starts half-way through slows
    both, instead of only the one measured second. Each block starts after a pause and one untimed call,
    because the threads of the side that just ran keep spinning for a while and would steal the cores.
    """
    for _ in range(warmup):
        first()
        second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, out in ((first, times[0]), (second, times[1])):
            time.sleep(SWITCH_PAUSE)
            fn()
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1])


class CpuMonitor:
    """CPU time used by other processes on this machine while a block of code ran, in cores (Linux only)."""

    def __init__(self) -> None:
        self.start = self._sample()
        self.cores: float | None = None

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        """(machine busy seconds, this process's CPU seconds, wall seconds), or None without /proc/stat."""
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        own = os.times()
        return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK"), own.user + own.system, time.perf_counter()

    def stop(self) -> float | None:
        """Average cores that other processes kept busy since the monitor started."""
        end = self._sample()
        if self.start is not None and end is not None:
            busy, own, wall = (e - s for e, s in zip(end, self.start, strict=True))
            self.cores = max(0.0, (busy - own) / max(wall, 1e-9))
        return self.cores


def train_epochs(cfg: ModelConfig, split: Split, threads: int) -> tuple[RecurrentForecaster, dict[int, float]]:
    """One epoch per batch size through `fit`; seconds per epoch (validation included) and the last model."""
    seconds: dict[int, float] = {}
    model = None
    for batch in TRAIN_BATCHES:
        result = fit(cfg, TrainConfig(epochs=1, batch_size=batch, threads=threads), split)
        info = result.history[0]
        seconds[batch] = len(split.train) / info.samples_per_s
        model = result.model
    assert model is not None
    return model, seconds


def metadata(cfg: ModelConfig, data: BenchData) -> dict[str, Any]:
    """The metadata tsrnn requires inside an exported file."""
    return {
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
        "freq": data.freq,
    }


def onnx_op_summary(path: Path) -> str:
    """The exported graph's recurrent nodes and size, e.g. 'LSTM x2; 68 nodes', or both graphs of a model
    that dispatches on the batch size, e.g. 'RNN x2; 61 nodes below batch 4, unrolled 600 nodes from 4'."""
    import onnx

    from tsrnn.graph import split_dispatch

    def summary(graph: onnx.GraphProto) -> str:
        counts: dict[str, int] = {}
        for node in graph.node:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
        recurrent = [op for op in ("RNN", "GRU", "LSTM") if op in counts]
        return ", ".join(f"{op} x{counts[op]}" for op in recurrent) + f"; {sum(counts.values())} nodes"

    model = onnx.load(str(path))
    parts = split_dispatch(model)
    if parts is None:
        return summary(model.graph)
    small, large, threshold = parts
    return f"{summary(small.graph)} below batch {threshold}, unrolled {len(large.graph.node)} nodes from {threshold}"


def bench_variant(cell: str, bidirectional: bool, data: BenchData, threads: int, workdir: Path) -> Row:
    """Train, export and time one variant."""
    cfg = ModelConfig(
        cell=cell,
        hidden_size=HIDDEN_SIZE,
        num_layers=NUM_LAYERS,
        bidirectional=bidirectional,
        input_len=INPUT_LEN,
        horizon=HORIZON,
    )
    name = f"{'bi-' if bidirectional else ''}{cell}"
    monitor = CpuMonitor()
    model, epoch_s = train_epochs(cfg, data.split, threads)
    load_training = monitor.stop()
    model.eval()
    history = data.split.val[:, :INPUT_LEN]
    exported = export_onnx(model, workdir / f"{name}.onnx", metadata(cfg, data), history[:256])
    forecaster = Forecaster.load(exported.path, device="cpu", threads=threads)

    small = np.ascontiguousarray(history[:1])
    big = np.ascontiguousarray(np.resize(history, (BIG_BATCH, *history.shape[1:])))

    def eager(x: np.ndarray) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            with torch.inference_mode():
                return model(torch.from_numpy(x)).numpy()

        return run

    torch.set_num_threads(threads)
    monitor = CpuMonitor()
    torch_b1, ort_b1 = paired_medians(
        eager(small), lambda: forecaster.predict(small), rounds=SMALL_ROUNDS, calls=SMALL_CALLS, warmup=50
    )
    torch_big, ort_big = paired_medians(
        eager(big), lambda: forecaster.predict(big), rounds=BIG_ROUNDS, calls=1, warmup=2
    )
    load_timing = monitor.stop()
    return Row(
        name,
        torch_b1 * 1e6,
        ort_b1 * 1e6,
        BIG_BATCH / torch_big,
        BIG_BATCH / ort_big,
        epoch_s,
        exported.max_abs_error,
        exported.max_rel_error,
        onnx_op_summary(exported.path),
        load_training,
        load_timing,
    )


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or the platform's word for it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def render(rows: list[Row], data: BenchData, threads: int, seconds: float, background: float | None) -> str:
    """The report as Markdown: header, protocol, the table, and whether the targets were reached."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# tsrnn speed benchmark",
        "",
        f"- Date: {stamp}; whole run {seconds:.0f} s; other processes kept {_cores(background)} cores busy on "
        "average during the run",
        f"- Machine: {default_threads()} cores (nproc), {cpu_model()}, {platform.system()} {platform.machine()}",
        f"- Versions: Python {platform.python_version()}, torch {torch.__version__}, onnxruntime {ort.__version__}",
        f"- Model: hidden {HIDDEN_SIZE}, {NUM_LAYERS} layers, input_len {INPUT_LEN}, horizon {HORIZON}, 1 input, "
        "window scaling inside the model",
        f"- Data: {data.source}",
        "- Protocol: each variant is trained one epoch per batch size with `tsrnn.train.fit` (seconds per epoch = "
        f"training windows / `EpochInfo.samples_per_s`, the {VAL_WINDOWS}-window validation pass included), then "
        "exported with `tsrnn.export.export_onnx` (parity = max |ORT - torch| over batch 1 and 256 real windows). "
        "Torch eager: the same `RecurrentForecaster` (scaling included) under `torch.inference_mode()`, numpy in "
        "and out. ONNX Runtime: `Forecaster.load(...).predict` (ORT_ENABLE_ALL, CPUExecutionProvider): "
        f"{threads} worker threads, each running single-threaded sessions on its slices of the batch (at most "
        f"{SHARD_ROWS} windows a slice); torch threads = {threads}. Torch and ORT are timed in alternating blocks "
        "after "
        f"a warm-up: batch 1 median of {SMALL_ROUNDS} x {SMALL_CALLS} calls each (50 warm-up calls), batch "
        f"{BIG_BATCH} median of {BIG_ROUNDS} calls each (2 warm-up calls), reported as windows/s. "
        '"other load" is the CPU that other processes used while those timings ran.',
        "",
        f"| variant | ORT speed-up, batch 1 | ORT speed-up, batch {BIG_BATCH} | torch batch 1 (µs) | "
        f"ORT batch 1 (µs) | torch batch {BIG_BATCH} (windows/s) | ORT batch {BIG_BATCH} (windows/s) | "
        + " | ".join(f"epoch, batch {b} (s)" for b in TRAIN_BATCHES)
        + " | parity max abs (rel) | ONNX graph | other load, timing / training (cores) |",
        "|---|" + "---:|" * (6 + len(TRAIN_BATCHES)) + "---|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.speedup_b1:.2f}x | {r.speedup_big:.2f}x | {r.torch_b1_us:.0f} | {r.ort_b1_us:.0f} | "
            f"{r.torch_big_wps:,.0f} | {r.ort_big_wps:,.0f} | "
            + " | ".join(f"{r.epoch_s[b]:.2f}" for b in TRAIN_BATCHES)
            + f" | {r.parity_abs:.1e} ({r.parity_rel:.1e}) | {r.onnx_ops}"
            + f" | {_cores(r.load_timing)} / {_cores(r.load_training)} |"
        )
    lines += ["", verdict(rows)]
    return "\n".join(lines) + "\n"


def _cores(load: float | None) -> str:
    return "?" if load is None else f"{load:.2f}"


def verdict(rows: list[Row]) -> str:
    """Which targets were missed, and a warning when other processes disturbed the timings."""
    missed = [f"{r.name} batch 1 ({r.speedup_b1:.2f}x < {TARGET_SMALL}x)" for r in rows if r.speedup_b1 < TARGET_SMALL]
    missed += [
        f"{r.name} batch {BIG_BATCH} ({r.speedup_big:.2f}x < {TARGET_BIG}x)" for r in rows if r.speedup_big < TARGET_BIG
    ]
    if missed:
        text = "Targets missed: " + "; ".join(missed) + "."
    else:
        text = (
            f"Targets reached: ONNX Runtime is at least {TARGET_SMALL}x faster than torch eager at batch 1 and "
            f"{TARGET_BIG}x at batch {BIG_BATCH}, for every variant."
        )
    busy = [r.name for r in rows if max(r.load_timing or 0.0, r.load_training or 0.0) > QUIET]
    if busy:
        text += (
            f"\n\n**Warning:** other processes used more than {QUIET} cores while {', '.join(busy)} ran. "
            "With every core given to the benchmark, a busy core stalls the multi-threaded kernels "
            "(torch far more than ORT), so these numbers are not reliable: rerun on a quiet machine."
        )
    return text


def default_threads() -> int:
    """The cores this process may run on (what `nproc` prints)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    """Run every variant, print the table and write bench/results.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="Markdown report path (default: %(default)s)")
    parser.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help="torch threads and ORT worker threads (default: nproc, %(default)s)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    monitor = CpuMonitor()
    threads = args.threads
    data = load_data()
    print(f"data: {data.source}", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tsrnn-bench-") as tmp:
        for cell, bidirectional in VARIANTS:
            rows.append(bench_variant(cell, bidirectional, data, threads, Path(tmp)))
            print(f"  {rows[-1].name}: done after {time.perf_counter() - start:.0f} s", file=sys.stderr)
    report = render(rows, data, threads, time.perf_counter() - start, monitor.stop())
    args.out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
