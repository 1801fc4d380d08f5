"""Topics 1 and 2: inference speed (torch eager, ORT float, ORT INT8) and the roofline at the large batch."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import onnx
import torch

from tsrnn.core.config import ModelConfig
from tsrnn.export.graph import split_dispatch
from tsrnn.model.networks import RecurrentForecaster
from tsrnn.runtime.inference import SHARD_ROWS, Forecaster

from .speed_common import (
    INPUT_LEN,
    VAL_WINDOWS,
    CpuMonitor,
    ModelStore,
    Settings,
    Variant,
    alternating_medians,
    cores,
    table,
)

TARGET_SMALL = 3.0
"""Required ONNX Runtime (float) speed-up over torch eager at batch 1."""
TARGET_BIG = 1.5
"""Required ONNX Runtime (float) speed-up over torch eager at the large batch."""
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
PEAK_N = 2048


@dataclass
class InferenceRow:
    """Everything measured at inference for one variant."""

    name: str
    torch_b1_us: float
    ort_b1_us: float
    int8_b1_us: float
    torch_big_wps: float
    ort_big_wps: float
    int8_big_wps: float
    parity_abs: float
    parity_rel: float
    int8_abs: float
    int8_rel: float
    graph: str
    int8_graph: str
    load: float | None
    """Cores kept busy by other processes while the timings ran."""

    @property
    def ort_b1(self) -> float:
        return self.torch_b1_us / self.ort_b1_us

    @property
    def int8_b1(self) -> float:
        return self.torch_b1_us / self.int8_b1_us

    @property
    def ort_big(self) -> float:
        return self.ort_big_wps / self.torch_big_wps

    @property
    def int8_big(self) -> float:
        return self.int8_big_wps / self.torch_big_wps


@dataclass
class RooflineRow:
    name: str
    flops: int
    """Floating-point operations per window (analytic, see `flops_per_window`)."""
    torch_wps: float
    ort_wps: float

    @property
    def torch_gflops(self) -> float:
        return self.flops * self.torch_wps / 1e9

    @property
    def ort_gflops(self) -> float:
        return self.flops * self.ort_wps / 1e9


@dataclass
class Roofline:
    peak_gflops: float
    peak_seconds: float
    """Best time of one PEAK_N x PEAK_N float32 matmul."""
    rows: list[RooflineRow]
    timed_here: bool
    """The windows/s were timed by this topic (inference was not run), not taken from the inference table."""
    load: float | None


def eager(model: RecurrentForecaster, x: np.ndarray) -> Callable[[], np.ndarray]:
    """The torch side of a timing: numpy in, numpy out, under inference mode."""

    def run() -> np.ndarray:
        with torch.inference_mode():
            out = model(torch.from_numpy(x))
            assert isinstance(out, torch.Tensor)
            return out.numpy()

    return run


def bench_windows(store: ModelStore, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The timed inputs: one validation window, and the validation windows repeated to the large batch."""
    history = store.data.split.val[:, :INPUT_LEN]
    small = np.ascontiguousarray(history[:1])
    big = np.ascontiguousarray(np.resize(history, (settings.big_batch, *history.shape[1:])))
    return small, big


def run_inference(store: ModelStore, settings: Settings, variants: tuple[Variant, ...]) -> list[InferenceRow]:
    rows = []
    for variant in variants:
        rows.append(inference_row(store, settings, variant))
        print(f"  inference {variant.name}: done", file=sys.stderr)
    return rows


def inference_row(store: ModelStore, settings: Settings, variant: Variant) -> InferenceRow:
    """Time torch eager, ORT float and ORT INT8 in the same alternating blocks at batch 1 and the large batch."""
    prep = store.prepare(variant)
    threads = settings.threads
    fm = Forecaster.load(prep.export.path, device="cpu", threads=threads)
    qm = Forecaster.load(prep.int8_path, device="cpu", threads=threads)
    small, big = bench_windows(store, settings)
    torch.set_num_threads(threads)
    monitor = CpuMonitor()
    b1 = alternating_medians(
        [eager(prep.model, small), lambda: fm.predict(small), lambda: qm.predict(small)],
        rounds=settings.small_rounds,
        calls=settings.small_calls,
        warmup=50,
    )
    bb = alternating_medians(
        [eager(prep.model, big), lambda: fm.predict(big), lambda: qm.predict(big)],
        rounds=settings.big_rounds,
        calls=1,
        warmup=2,
    )
    load = monitor.stop()
    int8_abs, int8_rel = int8_difference(fm, qm, store.data.split.val[:, :INPUT_LEN], big)
    n = settings.big_batch
    return InferenceRow(
        variant.name,
        b1[0] * 1e6,
        b1[1] * 1e6,
        b1[2] * 1e6,
        n / bb[0],
        n / bb[1],
        n / bb[2],
        prep.export.max_abs_error,
        prep.export.max_rel_error,
        int8_abs,
        int8_rel,
        onnx_op_summary(prep.export.path),
        int8_summary(prep.int8_path),
        load,
    )


def int8_difference(fm: Forecaster, qm: Forecaster, history: np.ndarray, big: np.ndarray) -> tuple[float, float]:
    """Largest |INT8 - float| over the validation windows one at a time (the small-batch graph) and the large
    batch (the large-batch graph), absolute and relative to max(1, |float forecast|)."""
    pairs = [(fm.predict(history[i : i + 1]), qm.predict(history[i : i + 1])) for i in range(len(history))]
    pairs.append((fm.predict(big), qm.predict(big)))
    diff = max(float(np.max(np.abs(a - b))) for a, b in pairs)
    scale = max(1.0, max(float(np.max(np.abs(a))) for a, _ in pairs))
    return diff, diff / scale


def _op_counts(graph: onnx.GraphProto, counts: dict[str, int] | None = None) -> dict[str, int]:
    """Node count per op type, nodes inside If branches included."""
    counts = {} if counts is None else counts
    for node in graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
        for attr in node.attribute:
            if attr.HasField("g"):
                _op_counts(attr.g, counts)
    return counts


def onnx_op_summary(path: Path) -> str:
    """The exported graph's recurrent nodes and size, e.g. 'LSTM x2; 68 nodes', or both graphs of a model
    that dispatches on the batch size, e.g. 'RNN x2; 61 nodes below batch 4, unrolled 600 nodes from 4'."""

    def summary(graph: onnx.GraphProto) -> str:
        counts = _op_counts(graph)
        recurrent = [op for op in ("RNN", "GRU", "LSTM") if op in counts]
        return ", ".join(f"{op} x{counts[op]}" for op in recurrent) + f"; {sum(counts.values())} nodes"

    model = onnx.load(str(path))
    parts = split_dispatch(model)
    if parts is None:
        return summary(model.graph)
    small, large, threshold = parts
    return f"{summary(small.graph)} below batch {threshold}, unrolled {len(large.graph.node)} nodes from {threshold}"


def int8_summary(path: Path) -> str:
    """The INT8 graph's quantized nodes and the recurrent nodes left in float, both graphs together."""
    counts = _op_counts(onnx.load(str(path)).graph)
    quantized = sorted(op for op in counts if "Quantize" in op or "Integer" in op)
    text = ", ".join(f"{op} x{counts[op]}" for op in quantized) or "nothing quantized"
    left = [op for op in ("RNN", "GRU", "LSTM") if op in counts]
    return text + (f"; {', '.join(left)} float" if left else "")


def render_inference(rows: list[InferenceRow], settings: Settings) -> list[str]:
    n = settings.big_batch
    lines = [
        "## 1. Inference: torch eager, ONNX Runtime float and INT8",
        "",
        "Each variant is trained one epoch at batch 256 with `tsrnn.model.train.fit` (the training topic's own run "
        "when "
        "it ran), exported with `tsrnn.export.exporter.export_onnx` (parity = max |ORT - torch| over batch 1 and "
        "256 real "
        "windows) and quantized with `tsrnn.export.quantize.quantize_model` (dynamic INT8). Torch eager: the same "
        "`RecurrentForecaster` (scaling included) under `torch.inference_mode()`, numpy in and out, "
        f"torch threads = {settings.threads}. ORT float and INT8: `Forecaster.load(path).predict` "
        f"(ORT_ENABLE_ALL, CPUExecutionProvider), worker threads = {settings.threads}, each running single-threaded "
        f"sessions on its slices of the batch (at most {SHARD_ROWS} windows a slice). The three are timed in "
        f"alternating blocks after a warm-up: batch 1 median of {settings.small_rounds} x {settings.small_calls} "
        f"calls each (50 warm-up calls), batch {n} median of {settings.big_rounds} calls each (2 warm-up calls), "
        f"reported as windows/s. INT8 |difference| = max |INT8 - float| over the {VAL_WINDOWS} validation windows "
        f'one at a time and the batch of {n} (relative to the largest |forecast|). "other load" is the CPU that '
        "other processes used while the timings ran.",
        "",
    ]
    header = [
        "variant",
        "ORT speed-up, batch 1",
        "INT8 speed-up, batch 1",
        f"ORT speed-up, batch {n}",
        f"INT8 speed-up, batch {n}",
        "torch batch 1 (µs)",
        "ORT batch 1 (µs)",
        "INT8 batch 1 (µs)",
        f"torch batch {n} (windows/s)",
        f"ORT batch {n} (windows/s)",
        f"INT8 batch {n} (windows/s)",
        "parity max abs (rel)",
        "INT8 max abs difference (rel)",
        "ONNX graph",
        "INT8 graph",
        "other load (cores)",
    ]
    body = [
        [
            r.name,
            f"{r.ort_b1:.2f}x",
            f"{r.int8_b1:.2f}x",
            f"{r.ort_big:.2f}x",
            f"{r.int8_big:.2f}x",
            f"{r.torch_b1_us:.0f}",
            f"{r.ort_b1_us:.0f}",
            f"{r.int8_b1_us:.0f}",
            f"{r.torch_big_wps:,.0f}",
            f"{r.ort_big_wps:,.0f}",
            f"{r.int8_big_wps:,.0f}",
            f"{r.parity_abs:.1e} ({r.parity_rel:.1e})",
            f"{r.int8_abs:.3g} ({r.int8_rel:.1e})",
            r.graph,
            r.int8_graph,
            cores(r.load),
        ]
        for r in rows
    ]
    return [*lines, *table(header, "l" + "r" * 12 + "llr", body), "", inference_verdict(rows, n)]


def inference_verdict(rows: list[InferenceRow], big: int) -> str:
    """Which ORT float targets were missed."""
    missed = [
        f"{r.name} batch 1 ({r.ort_b1:.2f}x < {TARGET_SMALL}x)" for r in rows if round(r.ort_b1, 2) < TARGET_SMALL
    ]
    missed += [
        f"{r.name} batch {big} ({r.ort_big:.2f}x < {TARGET_BIG}x)" for r in rows if round(r.ort_big, 2) < TARGET_BIG
    ]
    if missed:
        return "Targets missed: " + "; ".join(missed) + "."
    return (
        f"Targets reached: ONNX Runtime (float) is at least {TARGET_SMALL}x faster than torch eager at batch 1 "
        f"and {TARGET_BIG}x at batch {big}, for every variant."
    )


def flops_per_window(cfg: ModelConfig) -> int:
    """Multiply-adds x 2 of the recurrent matrix products and the head; element-wise work is not counted."""
    directions = 2 if cfg.bidirectional else 1
    total = 0
    for layer in range(cfg.num_layers):
        layer_input = cfg.n_inputs if layer == 0 else cfg.hidden_size * directions
        total += directions * cfg.input_len * 2 * GATES[cfg.cell] * cfg.hidden_size * (layer_input + cfg.hidden_size)
    return total + 2 * directions * cfg.hidden_size * cfg.horizon * cfg.n_targets


PEAK_SCRIPT = """
import sys, time
import numpy as np
n, runs = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
a @ b
best = float("inf")
for _ in range(runs):
    t0 = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - t0)
print(best)
"""


def matmul_seconds(threads: int, runs: int) -> float:
    """Best time of a PEAK_N x PEAK_N float32 numpy matmul, in a child whose BLAS has `threads` threads (the
    BLAS reads its thread count once, when numpy is imported)."""
    env = {**os.environ, **{k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(PEAK_N), str(runs)], env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip())


def run_roofline(
    store: ModelStore, settings: Settings, variants: tuple[Variant, ...], inference: list[InferenceRow] | None
) -> Roofline:
    """Achieved GFLOP/s at the large batch: from the inference table when it ran, else timed here."""
    monitor = CpuMonitor()
    seconds = matmul_seconds(settings.threads, settings.peak_runs)
    rows = []
    measured = {r.name: (r.torch_big_wps, r.ort_big_wps) for r in inference or []}
    for variant in variants:
        if variant.name not in measured:
            prep = store.prepare(variant)
            fm = Forecaster.load(prep.export.path, device="cpu", threads=settings.threads)
            _, big = bench_windows(store, settings)
            torch.set_num_threads(settings.threads)
            t_torch, t_ort = alternating_medians(
                [eager(prep.model, big), partial(fm.predict, big)], rounds=settings.big_rounds, calls=1, warmup=2
            )
            measured[variant.name] = (settings.big_batch / t_torch, settings.big_batch / t_ort)
        rows.append(RooflineRow(variant.name, flops_per_window(variant.config), *measured[variant.name]))
    return Roofline(2 * PEAK_N**3 / seconds / 1e9, seconds, rows, inference is None, monitor.stop())


def render_roofline(result: Roofline, settings: Settings) -> list[str]:
    n = settings.big_batch
    source = (
        f"timed here ({settings.big_rounds} alternating calls each, median)"
        if result.timed_here
        else "the inference table's"
    )
    lines = [
        f"## 2. Roofline at batch {n}",
        "",
        f"Peak: numpy float32 matmul of {PEAK_N}x{PEAK_N} (2 x {PEAK_N}^3 FLOP), best of {settings.peak_runs} "
        f"runs in a child process with BLAS threads = {settings.threads}: {result.peak_seconds * 1e3:.1f} ms, "
        f"**{result.peak_gflops:.1f} GFLOP/s**. FLOP per window, from the config: for each layer and direction, "
        "input_len x 2 x gates x hidden x (layer_input + hidden), with gates rnn 1, gru 3, lstm 4 and layer_input "
        "= n_inputs for layer 0 and hidden x directions above it; plus the head, 2 x directions x hidden x horizon. "
        "Biases, activations, gate arithmetic and the window scaling are not counted, so the achieved figures "
        f"are a lower bound on the work done. Windows/s: {source} batch-{n} figures. "
        f"Other load during the peak measurement{' and timings' if result.timed_here else ''}: "
        f"{cores(result.load)} cores.",
        "",
    ]
    header = [
        "variant",
        "ORT float % of peak",
        "torch % of peak",
        "MFLOP per window",
        "ORT float GFLOP/s",
        "torch GFLOP/s",
        "ORT float windows/s",
        "torch windows/s",
    ]
    peak = result.peak_gflops
    body = [
        [
            r.name,
            f"{100 * r.ort_gflops / peak:.1f}%",
            f"{100 * r.torch_gflops / peak:.1f}%",
            f"{r.flops / 1e6:.2f}",
            f"{r.ort_gflops:.1f}",
            f"{r.torch_gflops:.1f}",
            f"{r.ort_wps:,.0f}",
            f"{r.torch_wps:,.0f}",
        ]
        for r in result.rows
    ]
    return [*lines, *table(header, "l" + "r" * 7, body)]
