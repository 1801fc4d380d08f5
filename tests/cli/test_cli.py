"""The command line, run as a user runs it, on real data."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"
TSRNN = [sys.executable, "-m", "tsrnn"]


def run(*args: str | Path, cwd: Path | None = None, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **extra_env}
    return subprocess.run([*TSRNN, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """`tsrnn train` on the real lynx series, JSON output."""
    work = tmp_path_factory.mktemp("cli")
    out = run(
        "train",
        DATA / "real" / "lynx_annual.csv",
        "--cell",
        "gru",
        "--bidirectional",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--epochs",
        "3",
        "--json",
        cwd=work,
    )
    assert out.returncode == 0, out.stderr
    return work, json.loads(out.stdout)


def test_train_json_reports_metrics_and_export(trained: tuple[Path, dict]) -> None:
    work, report = trained
    assert set(report["baselines"]) == {"naive", "seasonal_naive", "drift"}
    assert set(report["metrics"]["lynx_trappings"]) == {"mase", "smape", "mae", "rmse"}
    assert report["export_path"] == "exports/lynx_annual_bigru1x8.onnx"
    assert (work / report["export_path"]).is_file()
    assert report["parity_max_rel_error"] < 1e-4 and report["epochs_run"] >= 1
    assert report["model"]["input_len"] == 10 and report["model"]["horizon"] == 5  # yearly defaults
    assert report["samples_per_s"] > 0 and report["torch_threads"] == os.cpu_count()


def test_forecast_and_inspect(trained: tuple[Path, dict], tmp_path: Path) -> None:
    work, report = trained
    model = work / report["export_path"]
    out = run("forecast", model, DATA / "real" / "lynx_annual.csv", "--out", tmp_path / "fc.csv")
    assert out.returncode == 0, out.stderr
    assert "on CPUExecutionProvider" in out.stderr
    lines = (tmp_path / "fc.csv").read_text().splitlines()
    assert lines[0] == "time,lynx_trappings" and lines[1].startswith("1935-01-01,") and len(lines) == 6
    js = json.loads(run("forecast", model, DATA / "real" / "lynx_annual.csv", "--json").stdout)
    assert js["provider"] == "CPUExecutionProvider" and len(js["forecast"]) == 5
    text = run("inspect", model).stdout
    assert "GRU, bidirectional, 1 layer(s) x 8 units" in text and "window 10 -> horizon 5" in text
    meta = json.loads(run("inspect", model, "--json").stdout)
    assert meta["cell"] == "gru" and meta["bidirectional"] is True


def test_train_prints_table_on_long_format(tmp_path: Path) -> None:
    out = run(
        "train",
        DATA / "real" / "tourism_12_series.csv",
        "--cell",
        "lstm",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--epochs",
        "2",
        "--out",
        tmp_path / "t.onnx",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "12 series" in out.stderr and "quarterly" in out.stderr
    assert re.search(r"[\d,]+ training windows/s on cpu \(\d+ torch threads\)", out.stderr), out.stderr
    assert "seasonal_naive" in out.stdout and "max abs error" in out.stdout
    fc = run("forecast", tmp_path / "t.onnx", DATA / "real" / "tourism_12_series.csv", "--json")
    rows = json.loads(fc.stdout)["forecast"]
    assert len(rows) == 12 * 8 and rows[0]["time"] == "2018-01-01"
    assert rows[0]["id"] == "Adelaide Hills|South Australia|Business"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", DATA / "ragged.csv"], "ragged.csv: line 8 has 3 fields, expected 2"),
        (["train", DATA / "non_numeric.csv"], "column 'value' has non-numeric values on lines 13, 41"),
        (["train", DATA / "two_numeric.csv"], "several numeric columns (load, temp)"),
        (["train", DATA / "too_short.csv"], "too_short.csv: the series has 20 rows; input window 24 and horizon 12"),
        (["forecast", DATA / "not_a_model.onnx", "demo"], "not a readable ONNX model"),
        (["train", "demo", "--hidden", "0"], "hidden size must be a whole number of at least 1"),
    ],
)
def test_bad_input_one_line_exit_2_no_file(tmp_path: Path, args: list, message: str) -> None:
    out = run(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("tsrnn: error: ") and message in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir())


def test_forecast_never_imports_torch(demo_model: Path) -> None:
    code = (
        "import sys; from tsrnn.cli.commands import main; rc = main(['forecast', sys.argv[1], 'demo', '--json']); "
        "assert rc == 0; assert 'torch' not in sys.modules, 'torch imported'; "
        "main(['inspect', sys.argv[1]]); assert 'torch' not in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", code, str(demo_model)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_cli_sets_the_lean_allocator_before_polars_loads(demo_model: Path) -> None:
    """polars reads _RJEM_MALLOC_CONF when it loads: the CLI sets the lean decay first, also when the variable
    holds only what a parent process that loaded polars left there, but never over the user's own decay."""
    code = (
        "import os, sys; from tsrnn.cli.commands import main; assert 'polars' not in sys.modules; "
        "rc = main(['forecast', sys.argv[1], 'demo', '--json']); assert rc == 0 and 'polars' in sys.modules; "
        "print(os.environ['_RJEM_MALLOC_CONF'])"
    )
    base = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    for given, last in [
        (None, "dirty_decay_ms:0,muzzy_decay_ms:0"),
        ("dirty_decay_ms:500,muzzy_decay_ms:1000", "dirty_decay_ms:0,muzzy_decay_ms:0"),
        ("narenas:1", "narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0"),
        ("dirty_decay_ms:200", "dirty_decay_ms:200"),
    ]:
        env = base if given is None else {**base, "_RJEM_MALLOC_CONF": given}
        out = subprocess.run([sys.executable, "-c", code, str(demo_model)], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1].endswith(last), (given, out.stdout[-200:])


def test_demo_data_prints_bundled_path() -> None:
    out = run("demo-data")
    path = Path(out.stdout.strip())
    assert out.returncode == 0 and path.is_file() and path.read_text().startswith("time,passengers")


def test_ctrl_c_keeps_best_weights_and_still_exports(tmp_path: Path) -> None:
    import signal
    import time

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            *TSRNN,
            "train",
            "demo",
            "--hidden",
            "8",
            "--epochs",
            "100000",
            "--patience",
            "100000",
            "--out",
            str(tmp_path / "m.onnx"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # progress lines arrive every 10 epochs when stderr is not a terminal
        if "epoch 1/" in line:
            break
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "interrupted, best weights kept" in err
    assert "seasonal_naive" in out and (tmp_path / "m.onnx").is_file()


def test_compare_json_leaderboard(tmp_path: Path) -> None:
    out = run(
        "compare",
        DATA / "real" / "lynx_annual.csv",
        "--variants",
        "gru,bilstm,rnn-2",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--folds",
        "2",
        "--quantiles",
        "0.1,0.5,0.9",
        "--json",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    board = json.loads(out.stdout)
    names = [r["name"] for r in board["rows"]]
    assert sorted(names) == ["bilstm", "drift", "gru", "naive", "rnn-2", "seasonal_naive"]
    assert board["protocol"]["folds"] == 2 and board["protocol"]["epochs"] == 1
    model_rows = [r for r in board["rows"] if r["kind"] == "model"]
    assert all({"mase", "mase_std", "coverage", "msis"} <= set(r["metrics"]) for r in model_rows)
    assert (tmp_path / board["best_path"]).is_file()
    assert (tmp_path / "exports" / "compare_lynx_annual" / "leaderboard.md").is_file()


def test_compare_table_states_the_budget(tmp_path: Path) -> None:
    out = run(
        "compare",
        "demo",
        "--variants",
        "gru",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--out-dir",
        tmp_path / "c",
        "--best",
        "network",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "same budget for every variant: at most 1 epochs" in out.stdout
    assert "seasonal_naive" in out.stdout and "best: gru" in out.stdout
    assert (tmp_path / "c" / "leaderboard.csv").read_text().startswith("rank,variant,kind,mase,mase_std")


def test_classic_lstm_preset(tmp_path: Path) -> None:
    out = run("train", "demo", "--preset", "classic-lstm", "--epochs", "1", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    m = report["model"]
    assert (m["cell"], m["num_layers"], m["hidden_size"], m["input_len"], m["horizon"], m["task"]) == (
        "lstm",
        1,
        64,
        10,
        1,
        "direction",
    )
    assert set(report["metrics"]["passengers"]) == {"accuracy"} and "majority" in report["baselines"]
    fc = run("forecast", tmp_path / report["export_path"], "demo", "--json")
    assert 0 <= json.loads(fc.stdout)["forecast"][0]["passengers_up_probability"] <= 1


def test_train_with_int8_reports_drift(tmp_path: Path) -> None:
    out = run(
        "train", "demo", "--hidden", "8", "--layers", "1", "--epochs", "1", "--quantize", "int8", "--json", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    int8 = json.loads(out.stdout)["int8"]
    assert int8["int8_path"].endswith(".int8.onnx") and (tmp_path / int8["int8_path"]).is_file()
    assert int8["float_metrics"]["mase"] > 0 and int8["int8_metrics"]["mase"] > 0
    text = run("quantize", tmp_path / json.loads(out.stdout)["export_path"], "demo", "--out", tmp_path / "q.onnx")
    assert text.returncode == 0 and "largest forecast difference" in text.stdout


def test_cuda_without_gpu_falls_back_to_cpu_and_says_so(trained: tuple[Path, dict], tmp_path: Path) -> None:
    import onnxruntime
    import torch

    work, report = trained
    model = work / report["export_path"]
    lynx = DATA / "real" / "lynx_annual.csv"
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        out = run("forecast", model, lynx, "--device", "cuda")
        assert out.returncode == 0, out.stderr
        assert "note: CUDA was asked for" in out.stderr and "on CPUExecutionProvider" in out.stderr
        js = json.loads(run("forecast", model, lynx, "--device", "cuda", "--json").stdout)
        assert js["provider"] == "CPUExecutionProvider" and "no CUDA provider" in js["fallback"]
    if not torch.cuda.is_available():
        out = run(
            "train",
            lynx,
            "--hidden",
            "4",
            "--layers",
            "1",
            "--epochs",
            "1",
            "--device",
            "cuda",
            "--out",
            tmp_path / "m.onnx",
        )
        assert out.returncode == 0, out.stderr
        assert "note: CUDA was asked for" in out.stderr and "training on the CPU instead" in out.stderr
        js = json.loads(
            run(
                "train",
                lynx,
                "--hidden",
                "4",
                "--layers",
                "1",
                "--epochs",
                "1",
                "--device",
                "cuda",
                "--out",
                tmp_path / "m.onnx",
                "--json",
            ).stdout
        )
        assert js["device"] == "cpu" and "CPU" in js["device_note"]


def test_training_report_says_how_a_gru_trained(tmp_path: Path) -> None:
    """The GRU fast path and whether its loops are compiled: in the report line and in --json."""
    args = ("train", "demo", "--cell", "gru", "--hidden", "8", "--layers", "1", "--epochs", "1")
    out = run(*args, "--out", tmp_path / "a.onnx")
    assert out.returncode == 0, out.stderr
    assert re.search(r"training windows/s on cpu \(\d+ torch threads; GRU fast path", out.stderr), out.stderr
    off = json.loads(run(*args, "--out", tmp_path / "b.onnx", "--json", TSRNN_FAST_KERNEL="0").stdout)
    assert off["fast_path"] == "GRU fast path, torch loops: turned off (TSRNN_FAST_KERNEL=0)"
    lstm = json.loads(run(*args[:3], "lstm", *args[4:], "--out", tmp_path / "c.onnx", "--json").stdout)
    assert lstm["fast_path"] is None


def test_options_only_by_their_full_names(tmp_path: Path) -> None:
    """A prefix of an option is refused, not taken for the one it starts: compare has --out-dir, not --out."""
    out = run("compare", "demo", "--out", tmp_path / "best.onnx", cwd=tmp_path)
    assert out.returncode == 2 and "unrecognized arguments: --out" in out.stderr, out.stderr
    assert not (tmp_path / "best.onnx").exists() and not (tmp_path / "exports").exists()
    assert run("train", "demo", "--hid", "8", cwd=tmp_path).returncode == 2
