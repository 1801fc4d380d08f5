"""Calendar-aware models at inference: ONNX Runtime against torch eager, with and without known inputs.

Each variant (hidden 64, 2 layers, window 48, horizon 12, one input) is built twice: without known inputs,
and with the four columns `--calendar auto` gives half-hourly data (hour and day of week, sin/cos). Weights are
random (speed does not depend on them) and every export passes the usual parity check. Torch eager: the
`RecurrentForecaster` under `torch.inference_mode()`, numpy in and out; ONNX Runtime: `Forecaster.predict`
with the same arrays. Timed in alternating blocks (`speed_common.alternating_medians`): batch 1 the median of
5 x 50 calls, batch 1024 the median of 3 x 3 calls.

Run: python -m bench.speed_known
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import torch

from tsrnn.core.config import ModelConfig
from tsrnn.export.exporter import export_onnx
from tsrnn.model.networks import RecurrentForecaster
from tsrnn.modelfile.artifact import ModelMeta
from tsrnn.runtime.inference import Forecaster

from .speed_common import CpuMonitor, alternating_medians, cores, table

L, H, BIG = 48, 12, 1024
VARIANTS = (("rnn", False), ("gru", False), ("lstm", False), ("lstm", True))
CALENDAR = ("hour", "dow")
KNOWN = ("hour_sin", "hour_cos", "dow_sin", "dow_cos")


def meta(cfg: ModelConfig) -> ModelMeta:
    known = cfg.n_known > 0
    return ModelMeta.from_dict(
        {
            "cell": cfg.cell,
            "input_len": L,
            "horizon": H,
            "targets": ["demand"],
            "inputs": ["demand"],
            "time_col": "time",
            "freq": {"code": "30m", "label": "every 30 minutes", "season": 48, "step_us": 1_800_000_000},
            "calendar": list(CALENDAR) if known else [],
            "known": list(KNOWN) if known else [],
        }
    )


def torch_call(model: RecurrentForecaster, x: np.ndarray, k: np.ndarray | None) -> None:
    with torch.inference_mode():
        args = [torch.from_numpy(x)] + ([torch.from_numpy(k)] if k is not None else [])
        out = model(*args)
        (out[0] if isinstance(out, tuple) else out).numpy()


HEADER = [
    "variant",
    "ORT speed-up, batch 1",
    "ORT speed-up, batch 1024",
    "torch batch 1 (µs)",
    "ORT batch 1 (µs)",
    "torch batch 1024 (windows/s)",
    "ORT batch 1024 (windows/s)",
]


def run_known(rounds: int = 5) -> tuple[list[list[str]], float | None]:
    """Each variant without and with calendar inputs: the table's rows and the other load during the run."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    rows = []
    monitor = CpuMonitor()
    with tempfile.TemporaryDirectory() as tmp:
        for cell, bi in VARIANTS:
            for n_known in (0, len(KNOWN)):
                cfg = ModelConfig(
                    cell=cell, bidirectional=bi, hidden_size=64, num_layers=2, input_len=L, horizon=H, n_known=n_known
                )
                model = RecurrentForecaster(cfg, np.array([100.0]), np.array([10.0])).eval()
                windows = (100 + 10 * rng.standard_normal((BIG, L + H, 1 + n_known))).astype(np.float32)
                windows[:, :, 1:] = rng.uniform(-1, 1, (BIG, L + H, n_known))
                path = Path(tmp) / f"{cell}{bi}{n_known}.onnx"
                export_onnx(model, path, meta(cfg), windows[:256])
                f = Forecaster.load(path)
                x1, xb = windows[:1, :L, :1].copy(), windows[:, :L, :1].copy()
                k1 = windows[:1, :, 1:].copy() if n_known else None
                kb = windows[:, :, 1:].copy() if n_known else None
                t_b1, o_b1 = alternating_medians(
                    [partial(torch_call, model, x1, k1), partial(f.predict, x1, k1)], rounds=rounds, calls=50, warmup=20
                )
                t_big, o_big = alternating_medians(
                    [partial(torch_call, model, xb, kb), partial(f.predict, xb, kb)],
                    rounds=max(2, rounds - 2),
                    calls=3,
                    warmup=1,
                )
                name = f"{'bi-' if bi else ''}{cell}" + (" + calendar (4 known)" if n_known else "")
                rows.append(
                    [
                        name,
                        f"{t_b1 / o_b1:.2f}x",
                        f"{t_big / o_big:.2f}x",
                        f"{t_b1 * 1e6:.0f}",
                        f"{o_b1 * 1e6:.0f}",
                        f"{BIG / t_big:,.0f}",
                        f"{BIG / o_big:,.0f}",
                    ]
                )
                print(f"  {name}: done", flush=True)
    return rows, monitor.stop()


def render_known(rows: list[list[str]], load: float | None) -> list[str]:
    """The `make bench` section: known inputs' cost at inference."""
    return [
        "## 6. Calendar inputs at inference (known-future inputs)",
        "",
        f"Hidden 64, 2 layers, window {L}, horizon {H}, one input; each variant without and with the four calendar "
        "columns of half-hourly data (hour and day of week, sin/cos) as a known input over window + horizon. "
        "Random weights; torch eager under inference_mode against `Forecaster.predict`, alternating blocks.",
        "",
        *table(HEADER, "l" + "r" * 6, rows),
        "",
        f"Other load during this topic: {cores(load)} cores.",
    ]


def main() -> None:
    rows, load = run_known()
    print("\n".join(render_known(rows, load)))


if __name__ == "__main__":
    main()
