"""GPU check: train on cuda (cuDNN RNNs), export, and time torch CUDA, ONNX Runtime CPU and ONNX Runtime CUDA.

Run on a machine with an NVIDIA GPU: ``python -m bench.gpu_check --data vic_elec_halfhourly.csv``. Prints one
Markdown report (and writes it to ``--out`` when given). Every figure comes from this one run on that machine.
Where onnxruntime offers no CUDA provider the ORT CUDA column says so and `Forecaster` falls back to the CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from tsrnn.core.config import DataConfig, ModelConfig, TrainConfig
from tsrnn.data.loader import load_series
from tsrnn.data.windows import Split, make_windows
from tsrnn.export.exporter import export_onnx
from tsrnn.model.networks import RecurrentForecaster
from tsrnn.model.train import fit
from tsrnn.modelfile.artifact import ModelMeta
from tsrnn.runtime.inference import Forecaster

INPUT_LEN, HORIZON, HIDDEN, LAYERS = 48, 12, 64, 2
VARIANTS = (("rnn", False), ("gru", False), ("lstm", False), ("lstm", True))


def windows_from(path: Path, n: int) -> np.ndarray:
    data = load_series(path, DataConfig(targets=("demand",)))
    w = make_windows(data.values[0], INPUT_LEN + HORIZON)
    return np.ascontiguousarray(w[:: max(1, len(w) // n)][:n], dtype=np.float32)


def split_of(windows: np.ndarray, val: int = 512) -> Split:
    train, v = windows[:-val], windows[-val:]
    return Split(
        input_len=INPUT_LEN,
        horizon=HORIZON,
        val_len=val,
        train=train,
        val=v,
        test=v[:1],
        test_len=HORIZON,
        insample=[],
        mean=train.mean(axis=(0, 1)),
        std=train.std(axis=(0, 1)),
    )


def median_s(fn: Callable[[], object], calls: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def torch_timer(model: torch.nn.Module, x: np.ndarray, device: str) -> Callable[[], object]:
    def run() -> object:
        with torch.inference_mode():
            y = model(torch.from_numpy(x).to(device))
            out = y.cpu().numpy()  # numpy in and out, as the forecast path does
        return out

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--windows", type=int, default=10_512)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    cuda = torch.cuda.is_available()
    dev = "cuda" if cuda else "cpu"
    windows = windows_from(args.data, args.windows)
    split = split_of(windows)
    x1, xb = windows[:1, :INPUT_LEN], np.ascontiguousarray(windows[:1024, :INPUT_LEN])
    lines = [
        "# tsrnn GPU check",
        "",
        f"- Machine: {torch.cuda.get_device_name(0) if cuda else 'no CUDA GPU'}, {os.cpu_count()} CPU cores, "
        f"{platform.machine()}; torch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN "
        f"{torch.backends.cudnn.version() if cuda else '-'}), onnxruntime {ort.__version__} with providers "
        f"{', '.join(ort.get_available_providers())}",
        f"- Data: {args.data.name}, {len(windows)} windows of {INPUT_LEN}+{HORIZON} steps, the last 512 for "
        f"validation; model hidden {HIDDEN}, {LAYERS} layers, window scaling inside",
        "- Training: one epoch of `tsrnn.model.train.fit`, batch 256, on cuda and on the CPU (all cores). Inference: "
        "median wall time per call, numpy in and out; torch under inference_mode; ORT through "
        "`Forecaster.predict` (CPU: one worker thread per core; CUDA: I/O binding from 1024 windows)",
        "",
        "| variant | epoch cuda (s) | epoch cpu (s) | parity max abs | torch cuda b1 (µs) | ORT cpu b1 (µs) | "
        "ORT cuda b1 (µs) | torch cuda b1024 (win/s) | ORT cpu b1024 (win/s) | ORT cuda b1024 (win/s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    if cuda:  # CUDA context and cuDNN start-up outside the timed epochs
        warm = ModelConfig(input_len=INPUT_LEN, horizon=HORIZON)
        fit(warm, TrainConfig(epochs=1, device=dev), split_of(windows[:1024]))
    with tempfile.TemporaryDirectory() as tmp:
        for cell, bi in VARIANTS:
            name = f"bi-{cell}" if bi else cell
            cfg = ModelConfig(
                cell=cell, bidirectional=bi, hidden_size=HIDDEN, num_layers=LAYERS, input_len=INPUT_LEN, horizon=HORIZON
            )
            epoch = {}
            model: RecurrentForecaster | None = None
            for d in [dev, "cpu"] if cuda else ["cpu"]:
                if d == "cuda":
                    torch.cuda.synchronize()
                t = time.perf_counter()
                res = fit(cfg, TrainConfig(epochs=1, batch_size=256, device=d, seed=0), split)
                if d == "cuda":
                    torch.cuda.synchronize()
                epoch[d] = time.perf_counter() - t
                if d == dev:
                    model = res.model
                if res.device_note:
                    notes.append(f"{name}: {res.device_note}")
            assert model is not None
            meta = ModelMeta.from_dict(
                {
                    "cell": cell,
                    "input_len": INPUT_LEN,
                    "horizon": HORIZON,
                    "targets": ["demand"],
                    "inputs": ["demand"],
                    "time_col": "time",
                    "freq": {"code": "30m", "label": "every 30 minutes", "season": 48, "step_us": 1_800_000_000},
                }
            )
            exported = export_onnx(model.cpu(), Path(tmp) / f"{name}.onnx", meta, windows[:256, :INPUT_LEN])
            gpu_model = model.to(dev).eval()
            t_b1 = median_s(torch_timer(gpu_model, x1, dev), 200)
            t_big = median_s(torch_timer(gpu_model, xb, dev), 20)
            cpu_fc = Forecaster.load(exported.path, device="cpu")
            o_b1, o_big = median_s(partial(cpu_fc.predict, x1), 200), median_s(partial(cpu_fc.predict, xb), 20)
            gpu_fc = Forecaster.load(exported.path, device="cuda")
            if gpu_fc.fallback:
                notes.append(f"{name}: ORT CUDA: {gpu_fc.fallback}")
                g_b1 = g_big = "–"
            else:
                diff = float(np.max(np.abs(gpu_fc.predict(xb) - cpu_fc.predict(xb))))
                notes.append(f"{name}: ORT CUDA vs ORT CPU max abs difference {diff:.2e} at batch 1024")
                g_b1 = f"{median_s(partial(gpu_fc.predict, x1), 200) * 1e6:.0f}"
                g_big = f"{1024 / median_s(partial(gpu_fc.predict, xb), 20):,.0f}"
            lines.append(
                f"| {name} | {epoch.get('cuda', float('nan')):.2f} | {epoch['cpu']:.2f} | "
                f"{exported.max_abs_error:.1e} | {t_b1 * 1e6:.0f} | {o_b1 * 1e6:.0f} | {g_b1} | "
                f"{1024 / t_big:,.0f} | {1024 / o_big:,.0f} | {g_big} |"
            )
            print(lines[-1], flush=True)
    report = "\n".join([*lines, "", *(f"- {n}" for n in dict.fromkeys(notes))]) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
