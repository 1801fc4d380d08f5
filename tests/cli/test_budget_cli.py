"""`--budget` and the honest winner through the command line, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parents[1] / "data"
TSRNN = [sys.executable, "-m", "tsrnn"]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([*TSRNN, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


MARGIN_S = 30
"""Seconds a budgeted command may run past its budget: Python's start, the step and validation pass under way, the
export; generous, as the machine may be busy."""


def test_train_stops_near_its_budget(tmp_path: Path) -> None:
    budget = 4
    t0 = time.perf_counter()
    out = run(
        "train",
        DATA / "real" / "lynx_annual.csv",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--epochs",
        "100000",
        "--patience",
        "100000",
        "--budget",
        f"{budget}s",
        "--json",
        cwd=tmp_path,
    )
    wall = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["stopped"] == "budget" and report["budget_s"] == budget
    assert report["epochs_run"] >= 1 and 0 < report["time_limit_s"] < budget
    assert report["elapsed_s"] < budget + MARGIN_S and wall < budget + MARGIN_S
    assert "so it stops on time" in report["estimate"] or "spent already" in report["estimate"]
    assert (tmp_path / report["export_path"]).is_file()


def test_bad_budget_is_a_usage_error(tmp_path: Path) -> None:
    out = run("train", "demo", "--budget", "ten minutes", cwd=tmp_path)
    assert out.returncode == 2 and "budget 'ten minutes' is not a duration" in out.stderr


def test_budgeted_compare_exports_the_winning_seasonal_naive(tmp_path: Path, pure_season) -> None:
    data = pure_season.write(tmp_path / "seasonal.csv")
    budget = 15
    t0 = time.perf_counter()
    out = run(
        "compare",
        data,
        "--variants",
        "gru,lstm",
        "--hidden",
        "4",
        "--epochs",
        "100000",
        "--patience",
        "100000",
        "--folds",
        "2",
        "--budget",
        f"{budget}s",
        "--threads",
        "1",
        cwd=tmp_path,
    )
    wall = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr
    assert wall < budget + MARGIN_S
    assert "estimate: about" in out.stderr and "budget 15 s" in out.stderr
    assert "[1/2] gru: about" in out.stderr and "elapsed" in out.stderr and "left" in out.stderr
    assert "time budget 15 s (ran" in out.stdout and "2048 training windows sampled per epoch" in out.stdout
    assert "A BASELINE WINS: seasonal_naive beats every network" in out.stdout
    model = tmp_path / "exports" / "compare_seasonal" / "seasonal_seasonal_naive.onnx"
    assert f"best: seasonal_naive, a baseline, no network; exported to {model.relative_to(tmp_path)}" in out.stdout
    board = json.loads((tmp_path / "exports" / "compare_seasonal" / "leaderboard.json").read_text())
    assert board["protocol"]["budget_s"] == budget and board["protocol"]["elapsed_s"] < budget + MARGIN_S
    assert all(r["epochs"] >= 1 for r in board["rows"] if r["kind"] == "model")

    # the file forecasts exactly the repeated season through tsrnn forecast
    fc = run("forecast", model, data, "--out", tmp_path / "fc.csv", cwd=tmp_path)
    assert fc.returncode == 0, fc.stderr
    lines = (tmp_path / "fc.csv").read_text().splitlines()
    assert lines[0] == "time,load" and len(lines) == 25
    np.testing.assert_array_equal([float(x.split(",")[1]) for x in lines[1:]], pure_season.pattern)
    text = run("inspect", model, cwd=tmp_path).stdout
    assert "seasonal_seasonal_naive.onnx: seasonal naive (season 24), no network" in text
    assert "nothing trained: chosen by tsrnn compare on seasonal.csv" in text
    assert json.loads(run("inspect", model, "--json", cwd=tmp_path).stdout)["model"] == "seasonal_naive"


def test_compare_best_network(tmp_path: Path, pure_season) -> None:
    data = pure_season.write(tmp_path / "seasonal.csv")
    out = run(
        "compare",
        data,
        "--variants",
        "gru",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--folds",
        "2",
        "--budget",
        "none",
        "--best",
        "network",
        "--json",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    board = json.loads(out.stdout)
    assert board["winner"] == "seasonal_naive" and board["exported"] == "gru"
    assert board["protocol"]["budget_s"] is None and "no budget" in board["protocol"]["estimate"]
    text = run("inspect", tmp_path / board["best_path"], cwd=tmp_path).stdout
    assert "GRU, 1 layer(s) x 4 units" in text
