"""Forecasting data that does not fit the model, and what the history hides: never a silent answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tsrnn.data.loader import demo_path


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tsrnn", *map(str, args)], capture_output=True, text=True)


def demo_lines() -> list[str]:
    return demo_path().read_text().splitlines()


def test_daily_data_with_a_monthly_model_is_refused(demo_model: Path, tmp_path: Path) -> None:
    daily = tmp_path / "daily.csv"
    values = [line.split(",")[1] for line in demo_lines()[1:61]]
    days = [f"2020-01-{d:02d}" for d in range(1, 32)] + [f"2020-02-{d:02d}" for d in range(1, 30)]
    daily.write_text("time,passengers\n" + "".join(f"{t},{v}\n" for t, v in zip(days, values, strict=True)))
    out = run("forecast", demo_model, daily, "--out", tmp_path / "fc.csv")
    assert out.returncode == 2
    assert "daily.csv: the data is daily (1d) but the model demo.onnx was trained on monthly data (1mo)" in out.stderr
    assert "--allow-freq-mismatch" in out.stderr
    assert not (tmp_path / "fc.csv").exists()
    forced = run("forecast", demo_model, daily, "--allow-freq-mismatch", "--json")
    assert forced.returncode == 0, forced.stderr
    js = json.loads(forced.stdout)
    assert js["data_frequency"] == "1d" and js["model_frequency"] == "1mo"
    assert js["forecast"][0]["time"] == "2020-03-01" and js["forecast"][1]["time"] == "2020-03-02"


def test_trailing_empty_rows_and_interpolated_window_are_reported(demo_model: Path, tmp_path: Path) -> None:
    lines = demo_lines()
    lines[-5] = lines[-5].split(",")[0] + ","  # an empty cell inside the last window
    lines += ["1961-01-01,", "1961-02-01,"]  # two trailing rows without a value
    csv = tmp_path / "tail.csv"
    csv.write_text("\n".join(lines) + "\n")
    out = run("forecast", demo_model, csv)
    assert out.returncode == 0, out.stderr
    assert (
        "warning: the series: the last 2 row(s) from 1961-01-01 have an empty value and were left out; the "
        "forecast starts after the last complete row"
    ) in out.stderr
    assert "warning: the series: 1 of the last 24 steps the model reads were missing and interpolated" in out.stderr
    js = json.loads(run("forecast", demo_model, csv, "--json").stdout)
    assert [(w["kind"], w["steps"]) for w in js["warnings"]] == [("tail_dropped", 2), ("interpolated", 1)]
    assert js["forecast"][0]["time"] == "1961-01-01"


def test_clean_history_has_no_warnings(demo_model: Path) -> None:
    out = run("forecast", demo_model, "demo", "--json")
    assert json.loads(out.stdout)["warnings"] == [] and "warning" not in out.stderr
