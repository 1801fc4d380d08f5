"""The command line's guards: a missing optional package names its extra; an unexpected error is reported as a
bug in one line, with --debug for the traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tsrnn.cli.commands import BUG_EXIT, ISSUES_URL

HIDE = """
import sys, importlib.abc
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {hidden!r}:
            raise ModuleNotFoundError(f"No module named '{{name}}'", name=name)
sys.meta_path.insert(0, Hide())
from tsrnn.cli.commands import main
sys.exit(main({argv!r}))
"""


def run_hidden(hidden: set[str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE.format(hidden=hidden, argv=argv)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("hidden", "argv", "package", "extra"),
    [
        ({"torch"}, ["train", "demo", "--epochs", "1"], "torch", "train"),
        ({"torch"}, ["compare", "demo", "--epochs", "1"], "torch", "train"),
        ({"textual"}, ["tui", "demo"], "textual", "tui"),
        ({"onnx"}, ["quantize", "x.onnx"], "onnx", "train"),
    ],
)
def test_missing_extra_names_the_install_command(hidden: set[str], argv: list[str], package: str, extra: str) -> None:
    out = run_hidden(hidden, argv)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        f"tsrnn: error: tsrnn {argv[0]} needs the optional package '{package}', which is not installed; install it "
        f"with: pip install 'tsrnn[{extra}]'"
    ]


def test_forecast_needs_no_extra(tmp_path) -> None:
    out = run_hidden({"torch", "textual", "onnx"}, ["demo-data"])
    assert out.returncode == 0 and out.stdout.strip().endswith("airline_passengers.csv")


CRASH = """
import sys
import tsrnn.cli.commands as cli
def broken(args):
    raise RuntimeError("something nobody expected\\nsecond line")
cli.cmd_demo = broken
sys.exit(cli.main({argv!r}))
"""


def test_unexpected_error_is_one_line_bug_report_with_its_own_exit_code() -> None:
    out = subprocess.run([sys.executable, "-c", CRASH.format(argv=["demo-data"])], capture_output=True, text=True)
    assert out.returncode == BUG_EXIT == 70
    assert out.stderr.strip().splitlines() == [
        "tsrnn: internal error: RuntimeError: something nobody expected. This is a bug in tsrnn, not in your input: "
        f"please report it at {ISSUES_URL} with the command you ran; add --debug to see the traceback"
    ]
    debug = subprocess.run(
        [sys.executable, "-c", CRASH.format(argv=["demo-data", "--debug"])], capture_output=True, text=True
    )
    assert "Traceback (most recent call last)" in debug.stderr and "RuntimeError" in debug.stderr
    assert debug.returncode not in (0, BUG_EXIT)


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tsrnn", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_train_out_is_checked_before_training(tmp_path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    out = run("train", "demo", "--epochs", "1", "--out", folder)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"tsrnn: error: --out {folder} is a folder; give a file name such as {folder}/model.onnx"
    ]
    assert list(folder.iterdir()) == []
    blocked = run("train", "demo", "--epochs", "1", "--out", "/proc/tsrnn-test/model.onnx")
    assert blocked.returncode == 2 and "epoch" not in blocked.stderr and "/proc" in blocked.stderr


def test_forecast_out_to_devices_writes_through(demo_model, tmp_path) -> None:
    import os
    import stat

    out = run("forecast", demo_model, "demo", "--out", "/dev/null")
    assert out.returncode == 0, out.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    to_stdout = run("forecast", demo_model, "demo", "--out", "/dev/stdout", "--json")
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert to_stdout.stdout.startswith("time,passengers\n1961-01-01,")
    folder = run("forecast", demo_model, "demo", "--out", tmp_path)
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    assert list(tmp_path.iterdir()) == []
