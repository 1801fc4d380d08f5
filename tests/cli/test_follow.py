"""`tsrnn forecast MODEL --follow`: a growing CSV and stdin (CSV and JSON lines), a forecast line per series each
time its next step is complete, equal to `tsrnn forecast` on the rows so far; malformed lines reported and
skipped; the latency in each line and in the summary."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tsrnn.cli.commands import main
from tsrnn.data.loader import demo_path
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster

LINES = demo_path().read_text().splitlines()  # header, then 144 months


def follow(model: Path, source: str, *options: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tsrnn", "forecast", str(model), "--follow", source, *options],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def expected(model: Path, lines: list[str], tmp: Path) -> list[float]:
    """`tsrnn forecast`'s values for a file of these lines."""
    path = tmp / "so_far.csv"
    path.write_text("\n".join(lines) + "\n")
    with Forecaster.load(model) as m:
        return forecast_file(m, path).table["passengers"].to_list()  # type: ignore[no-any-return]


def values(line: str) -> list[float]:
    return [step["passengers"] for step in json.loads(line)["forecast"]]


def test_a_growing_file(demo_model: Path, tmp_path: Path) -> None:
    """The rows already there, then each appended row: a forecast each, from the history so far (never read
    again); a torn line waits for its end; SIGTERM ends it with 0 and a summary."""
    data = tmp_path / "live.csv"
    data.write_text("\n".join(LINES[:31]) + "\n")
    proc = follow(demo_model, str(data))
    out: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [out.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        first = out.get(timeout=30)
        assert json.loads(first)["issued"] == "1951-06-01"
        assert values(first) == pytest.approx(expected(demo_model, LINES[:31], tmp_path), rel=1e-5)
        with data.open("a") as f:
            f.write(LINES[31][:5])  # half a line: nothing yet
            f.flush()
            with pytest.raises(queue.Empty):
                out.get(timeout=0.5)
            f.write(LINES[31][5:] + "\n")
        second = json.loads(line := out.get(timeout=30))
        assert second["issued"] == "1951-07-01" and second["latency_ms"] >= 0
        assert values(line) == pytest.approx(expected(demo_model, LINES[:32], tmp_path), rel=1e-5)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert code == 0, err
    assert "follow: 32 line(s) read, 0 skipped, 2 forecast(s); arrival to forecast p50" in err


def test_stdin_with_a_malformed_line(demo_model: Path, tmp_path: Path) -> None:
    """CSV on stdin with a bad value, a torn row and a time out of order in the middle: each reported on stderr
    with its line and skipped; the stream goes on to the end of stdin."""
    good = LINES[:60]
    bad = [*good[:40], "1952-04-01,lots", "1952-04-01", good[40], good[20], *good[41:]]
    run = subprocess.run(
        [sys.executable, "-m", "tsrnn", "forecast", str(demo_model), "--follow", "-"],
        input="\n".join(bad) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "line 41: column 'passengers' holds 'lots', not a number; skipped" in run.stderr
    assert "line 42: 1 field(s) where the header has 2; skipped" in run.stderr
    assert "line 44: the series at 1950-08-01 is not after its last row (1952-04-01); skipped" in run.stderr
    assert "3 skipped" in run.stderr
    last = run.stdout.strip().splitlines()[-1]
    assert values(last) == pytest.approx(expected(demo_model, good, tmp_path), rel=1e-5)


def test_json_lines_and_csv_out(demo_model: Path, tmp_path: Path) -> None:
    rows = [dict(zip(LINES[0].split(","), line.split(","), strict=True)) for line in LINES[1:40]]
    text = "\n".join(json.dumps(r) for r in rows[:20]) + "\n{not json\n" + "\n".join(json.dumps(r) for r in rows[20:])
    run = subprocess.run(
        [sys.executable, "-m", "tsrnn", "forecast", str(demo_model), "--follow", "--follow-format", "csv"],
        input=text + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "line 21: not valid JSON" in run.stderr
    out = run.stdout.strip().splitlines()
    assert out[0] == "time,passengers,issued,latency_ms"
    got = [float(x.split(",")[1]) for x in out[-12:]]
    assert got == pytest.approx(expected(demo_model, LINES[:40], tmp_path), rel=1e-5)


def test_follow_refuses_what_is_for_a_whole_file(demo_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", str(demo_model), "demo", "--follow", "-"]) == 2
    assert "give the data once" in capsys.readouterr().err
    assert main(["forecast", str(demo_model), "--follow", "-", "--out", "x.csv"]) == 2
    assert "--out are for a whole file" in capsys.readouterr().err
    assert main(["forecast", str(demo_model)]) == 2
    assert "or --follow FILE|-" in capsys.readouterr().err
    assert main(["forecast", str(demo_model), "--follow", "no-such-file.csv"]) == 2
    err = capsys.readouterr().err
    assert "no-such-file.csv: file not found" in err and "follow:" not in err  # no summary of a stream never begun
