"""A long outage no longer stops training: windows that overlap it are left out, and the output says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tsrnn.data.loader import load_series
from tsrnn.data.windows import long_gap_rows, split_series
from tsrnn.evaluate.backtest import make_folds

DATA = Path(__file__).parents[1] / "data"


def sensors_csv(path: Path) -> Path:
    """Four hourly sensors over 90 days; sensor 'b' is out for 30 days (its rows are absent)."""
    rng = np.random.default_rng(0)
    times = np.arange(np.datetime64("2024-01-01T00"), np.datetime64("2024-03-31T00"), np.timedelta64(1, "h"))
    lines = ["id,time,value"]
    for sensor in "abcd":
        for t in times:
            if sensor == "b" and np.datetime64("2024-02-01T00") <= t < np.datetime64("2024-03-02T00"):
                continue
            hour = int(t.astype(np.int64) % 24)
            lines.append(f"{sensor},{t}:00:00,{10 + 5 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 0.5):.3f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_windows_over_a_month_long_outage_are_left_out(tmp_path: Path) -> None:
    data = load_series(sensors_csv(tmp_path / "sensors.csv"))
    assert data.report.longest_gap == 720
    split = split_series(data, 48, 24)
    assert split.bridge == 4
    # Sensor b: every window that touches its 720 filled hours goes; the other sensors keep all theirs.
    bad = long_gap_rows(data.filled[data.ids.index("b")], split.bridge)
    assert bad.sum() == 720
    assert split.left_out == 720 + 72 - 1 and split.windows_total == len(split.train) + len(split.val) + split.left_out
    assert not np.isnan(split.train).any()
    folds = make_folds(data, 48, 24, 3)
    assert folds.valid is None  # the outage ended long before the folds


def test_train_goes_on_and_says_what_was_left_out(tmp_path: Path) -> None:
    csv = sensors_csv(tmp_path / "sensors.csv")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tsrnn",
            "train",
            csv,
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--layers",
            "1",
            "--seasons",
            "none",  # the window counts below are those of the plain network
            "--out",
            tmp_path / "m.onnx",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert (
        "note: 791 of 8168 training and validation windows overlap an interpolated gap longer than 4 steps and "
        "were left out (longest: 'value' in series 'b' is missing for 720 consecutive steps (2024-02-01T00:00:00 "
        "to 2024-03-01T23:00:00))"
    ) in out.stderr
    js = subprocess.run(
        [
            sys.executable,
            "-m",
            "tsrnn",
            "train",
            DATA / "long_gap.csv",
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--json",
            "--out",
            tmp_path / "g.onnx",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert js.returncode == 0, js.stderr
    assert json.loads(js.stdout)["left_out_windows"] > 0
