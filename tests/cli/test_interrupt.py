"""Ctrl+C and SIGTERM during `tsrnn compare` and `tsrnn tune`, sent to the real command: the whole run stops,
what is complete is written marked as partial, a cut training is never ranked or exported, the exit code says
which signal stopped it, and compare's folder lists exactly the models it holds."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

TSRNN = [sys.executable, "-m", "tsrnn"]
TINY = ["--hidden", "8", "--epochs", "3", "--patience", "100", "--budget", "none", "--threads", "1"]
"""Three epochs that always run (no early stopping), one torch thread: a variant trains in a second or two."""


class Run:
    """The command in a subprocess, its stderr read line by line as it comes."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        self.proc = subprocess.Popen(
            [*TSRNN, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put("")

    def wait_for(self, text: str, timeout: float = 300) -> None:
        """Read stderr until a line holds `text` (the run's progress)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            line = self.lines.get(timeout=max(0.1, end - time.monotonic()))
            self.err.append(line)
            if text in line:
                return
            assert line, f"the command ended before {text!r}:\n{''.join(self.err)}"
        raise AssertionError(f"no {text!r} in {timeout} s:\n{''.join(self.err)}")

    def stop(self, *signals: int, timeout: float = 120) -> tuple[int, str, str, float]:
        """Send the signals (50 ms apart); return the exit code, stdout, stderr and the seconds it took to end."""
        t0 = time.monotonic()
        for s in signals:
            self.proc.send_signal(s)
            time.sleep(0.05)
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout=timeout)
        while (line := self.lines.get(timeout=10)) != "":
            self.err.append(line)
        return code, out, "".join(self.err), time.monotonic() - t0


def stale_compare_folder(folder: Path) -> None:
    """What an earlier run with another variant left: its leaderboard and its model."""
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "bilstm.onnx").write_bytes(b"an earlier run's model")
    (folder / "leaderboard.json").write_text(json.dumps({"rows": [{"name": "bilstm", "kind": "model"}]}))
    (folder / "leaderboard.md").write_text("| 1 | bilstm * |\n")


def assert_consistent(folder: Path, board: dict[str, Any]) -> None:
    """The leaderboard lists exactly the model files in the folder, each of them present."""
    listed = {Path(r["model_path"]).name for r in board["rows"] if r["model_path"]}
    assert {p.name for p in (folder / "models").glob("*")} == listed


def test_ctrl_c_during_compare_keeps_the_complete_variants_only(tmp_path: Path) -> None:
    out_dir = tmp_path / "cmp"
    stale_compare_folder(out_dir)
    run = Run(tmp_path, "compare", "demo", "--variants", "gru,lstm,rnn", *TINY, "--out-dir", str(out_dir))
    run.wait_for("[2/3] lstm")  # gru is complete; lstm starts training
    code, out, err, took = run.stop(signal.SIGINT)
    assert code == 130, err
    assert took < 60, took
    assert "Traceback" not in err
    board = json.loads((out_dir / "leaderboard.json").read_text())
    words = "interrupted after 1 of 3 variants: lstm was stopped during its training and is not ranked"
    assert board["partial"] is True and board["interrupted"].startswith(words), board["interrupted"]
    assert "not started: rnn" in board["interrupted"] and "nothing was exported" in board["interrupted"]
    assert board["protocol"]["interrupted"] == board["interrupted"]
    assert [r["name"] for r in board["rows"] if r["kind"] == "model"] == ["gru"]  # lstm cut, rnn not started
    assert board["best"] == "gru" and board["best_path"] is None and board["exported"] == ""
    assert not (tmp_path / "exports").exists()  # nothing retrained or exported
    assert_consistent(out_dir, board)  # the earlier run's bilstm.onnx is gone, lstm's was never written
    assert words in (out_dir / "leaderboard.md").read_text()
    assert "bilstm" not in (out_dir / "leaderboard.md").read_text()
    assert f"PARTIAL RESULTS, {words}" in out
    assert f"tsrnn: {words}" in err and "(Ctrl+C)" in err


def test_sigterm_during_compare_writes_a_partial_leaderboard(tmp_path: Path) -> None:
    out_dir = tmp_path / "cmp"
    stale_compare_folder(out_dir)
    run = Run(tmp_path, "compare", "demo", "--variants", "gru,lstm", *TINY, "--out-dir", str(out_dir), "--json")
    end = time.monotonic() + 300  # --json prints no progress: wait for gru's model file instead
    while not (out_dir / "models" / "gru.onnx").exists() and time.monotonic() < end:
        time.sleep(0.02)
    code, out, err, _ = run.stop(signal.SIGTERM)
    assert code == 143, err
    printed = json.loads(out)
    board = json.loads((out_dir / "leaderboard.json").read_text())
    assert printed["interrupted"] == board["interrupted"]
    assert board["interrupted"].startswith("interrupted after 1 of 2 variants: "), board  # lstm cut or not started
    assert "lstm" in board["interrupted"] and "nothing was exported" in board["interrupted"]
    assert [r["name"] for r in board["rows"] if r["kind"] == "model"] == ["gru"]
    assert board["best_path"] is None
    assert_consistent(out_dir, board)
    assert "(SIGTERM)" in err


def test_a_second_ctrl_c_stops_compare_at_once(tmp_path: Path) -> None:
    out_dir = tmp_path / "cmp"
    stale_compare_folder(out_dir)
    run = Run(tmp_path, "compare", "demo", "--variants", "gru,lstm,rnn", *TINY, "--out-dir", str(out_dir))
    run.wait_for("[2/3] lstm")
    code, out, err, _ = run.stop(signal.SIGINT, signal.SIGINT)  # the second while the first one's stop runs
    assert code == 130, err
    assert "Traceback" not in err
    files = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    if "Ctrl+C again: stopped at once" in err:
        assert out == ""  # no leaderboard printed, none written
        # the earlier run's leaderboard and model went before the first training: no old leaderboard beside this
        # run's models, no model of the earlier run, no half-written file
        assert {f for f in files if not f.startswith(".")} <= {"models/gru.onnx", "models/seasonal_naive.onnx"}
    else:  # the stop was complete when the second Ctrl+C came: it ends the exit at once, with the same code
        assert "partial leaderboard in" in err
        assert_consistent(out_dir, json.loads((out_dir / "leaderboard.json").read_text()))


def trials(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "trials.json").read_text())


TUNE = ["tune", "demo", "--variants", "gru", "--input-len", "24", "--trials", "4", "--epochs", "3", "--patience", "100"]
TUNE += ["--threads", "1"]


def test_ctrl_c_during_tune_keeps_the_complete_trials(tmp_path: Path) -> None:
    from tsrnn.runtime.inference import Forecaster

    out_dir = tmp_path / "tune"
    out_dir.mkdir()
    (out_dir / "ensemble.onnx").write_bytes(b"an earlier search's ensemble")
    run = Run(tmp_path, *TUNE, "--out", str(out_dir))
    run.wait_for("[trial 2/4]")  # trial 1 ended, trial 2 starts
    so_far = trials(out_dir)  # the table is written after each trial
    assert so_far["stopped"] == "running" and so_far["partial"] is True
    assert [t["state"] for t in so_far["trials"]] == ["complete"]
    code, out, err, _ = run.stop(signal.SIGINT)
    assert code == 130, err
    result = trials(out_dir)
    words = "interrupted after 1 of 4 trials: trial 2 was stopped during its training and is not scored"
    assert result["partial"] is True and result["interrupted"] == words and result["stopped"] == "cancelled"
    assert [(t["trial"], t["state"]) for t in result["trials"]] == [(1, "complete"), (2, "interrupted")]
    assert result["trials"][1]["mase"] is None  # never scored, never the best
    assert result["best"]["trial"] == 1
    assert words in (out_dir / "trials.md").read_text()
    with Forecaster.load(out_dir / "best.onnx") as model:  # the best complete trial, its file marked too
        assert model.meta.backtest is not None and model.meta.backtest["trial"] == 1
        assert model.meta.backtest["protocol"]["interrupted"] == words
    assert not (out_dir / "ensemble.onnx").exists()  # the earlier search's, which the new table does not list
    assert words in out and f"tsrnn: {words} (Ctrl+C)" in err


def test_sigterm_during_tune_keeps_the_trials_table(tmp_path: Path) -> None:
    out_dir = tmp_path / "tune"
    run = Run(tmp_path, *TUNE, "--out", str(out_dir))
    run.wait_for("[trial 1/4]")
    code, _, err, _ = run.stop(signal.SIGTERM)
    assert code == 143, err
    result = trials(out_dir)
    words = "interrupted after 0 of 4 trials: trial 1 was stopped during its training and is not scored"
    assert result["interrupted"] == words
    assert [t["state"] for t in result["trials"]] == ["interrupted"]
    assert result["best"] is None and not (out_dir / "best.onnx").exists()
