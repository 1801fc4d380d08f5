"""Outputs never replace inputs, and go only where the user said: an output that is the data, the model or the
future-values file (by any spelling, symlink or hard link) is refused before any work, a results folder may not
be, hold or sit inside the data, a read-only file is refused even for root, and a model file whose name tsrnn
chose never replaces an existing one: it takes a free name and says so."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tsrnn.cli.commands import main
from tsrnn.data.loader import demo_path

TINY = ["--epochs", "1", "--hidden", "8", "--layers", "1"]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_model: Path) -> Path:
    """A working folder holding data.csv and model.onnx (copies), the current folder for the test."""
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(demo_path(), tmp_path / "data.csv")
    shutil.copyfile(demo_model, tmp_path / "model.onnx")
    return tmp_path


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the command; it must exit 2 with one error line and no traceback; return that line."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("tsrnn: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("data.csv", "--out data.csv is the data data.csv:"),
        ("./data.csv", "--out ./data.csv is the data data.csv:"),
        ("model.onnx", "--out model.onnx is the model model.onnx:"),
        ("link.csv", "--out link.csv is the data data.csv (through a link):"),
        ("hard.csv", "--out hard.csv is a hard link to the data data.csv:"),
    ],
)
def test_forecast_never_writes_over_its_inputs(
    work: Path, capsys: pytest.CaptureFixture[str], out: str, message: str
) -> None:
    (work / "link.csv").symlink_to("data.csv")
    os.link(work / "data.csv", work / "hard.csv")
    before = snapshot(work)
    line = refused(capsys, ["forecast", "model.onnx", "data.csv", "--out", out])
    assert message in line and "choose another --out path" in line
    assert snapshot(work) == before and (work / "link.csv").is_symlink()


def test_forecast_never_writes_over_the_future_values(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "future.csv").write_text("time,promo\n1961-01-01,1\n")
    before = snapshot(work)
    line = refused(capsys, ["forecast", "model.onnx", "data.csv", "--future-csv", "future.csv", "--out", "future.csv"])
    assert "--out future.csv is --future-csv future.csv:" in line
    assert snapshot(work) == before


def test_the_demo_file_is_an_input_too(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tsrnn.data.loader

    bundled = work / "bundled" / "airline_passengers.csv"  # a copy: the test never risks the package's file
    bundled.parent.mkdir()
    shutil.copyfile(demo_path(), bundled)
    monkeypatch.setattr(tsrnn.data.loader, "demo_path", lambda: bundled)
    line = refused(capsys, ["forecast", "model.onnx", "demo", "--out", str(bundled)])
    assert f"--out {bundled} is the data demo:" in line
    assert bundled.read_bytes() == demo_path().read_bytes()


def test_a_forecast_beside_its_inputs_is_written(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "model.onnx", "data.csv", "--out", "forecast.csv"]) == 0
    assert (work / "forecast.csv").read_text().startswith("time,passengers\n1961-01-01,")


@pytest.mark.parametrize("mode", [0o444, 0o400])
def test_read_only_out_is_refused_even_for_root(work: Path, capsys: pytest.CaptureFixture[str], mode: int) -> None:
    target = work / "kept.csv"
    target.write_text("keep me\n")
    target.chmod(mode)
    line = refused(capsys, ["forecast", "model.onnx", "data.csv", "--out", "kept.csv"])
    assert line == "tsrnn: error: cannot write --out kept.csv: the file is read-only; choose another --out path"
    assert target.read_text() == "keep me\n"


def test_read_only_out_dir_is_refused_even_for_root(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "frozen").mkdir(mode=0o555)
    line = refused(capsys, ["compare", "data.csv", "--out-dir", "frozen", *TINY])
    assert "cannot write --out-dir frozen: the folder is read-only" in line
    assert list((work / "frozen").iterdir()) == []


def parquet_folder(work: Path) -> Path:
    import polars as pl

    (work / "parts").mkdir()
    pl.read_csv(work / "data.csv", try_parse_dates=True).write_parquet(work / "parts" / "part-00000.parquet")
    return work / "parts"


@pytest.mark.parametrize(
    ("data", "out", "message"),
    [
        ("parts", "parts", "--out parts is the folder of the data parts:"),
        ("parts/", "parts/results", "--out parts/results is inside the folder of the data parts/:"),
        ("parts/*.parquet", "parts", "--out parts is the folder of the data parts/*.parquet:"),
        ("parts/part-00000.parquet", ".", "--out . holds "),
        ("parts", ".", "--out . holds the folder of the data parts:"),
    ],
)
def test_dask_results_folder_never_mixes_with_the_data(
    work: Path, capsys: pytest.CaptureFixture[str], data: str, out: str, message: str
) -> None:
    parquet_folder(work)
    before = snapshot(work)
    line = refused(capsys, ["forecast", "model.onnx", data, "--engine", "dask", "--workers", "1", "--out", out])
    assert message in line and "choose another --out folder, outside it" in line
    assert snapshot(work) == before


def test_quantize_never_writes_over_the_model_and_keeps_an_earlier_copy(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.link(work / "model.onnx", work / "same.onnx")
    line = refused(capsys, ["quantize", "model.onnx", "--out", "same.onnx"])
    assert "--out same.onnx is a hard link to the model model.onnx:" in line
    (work / "model.int8.onnx").write_bytes(b"an earlier INT8 copy")
    assert main(["quantize", "model.onnx"]) == 0
    err = capsys.readouterr().err
    assert "note: model.int8.onnx exists and is kept; the INT8 copy is model.int8-2.onnx" in err
    assert (work / "model.int8.onnx").read_bytes() == b"an earlier INT8 copy"
    assert (work / "model.int8-2.onnx").stat().st_size > 1000


def test_train_never_writes_over_its_data_and_keeps_an_earlier_model(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(work)
    line = refused(capsys, ["train", "data.csv", *TINY, "--out", "./data.csv"])
    assert "--out ./data.csv is the data data.csv:" in line
    assert snapshot(work) == before
    exports = work / "exports"
    exports.mkdir()
    (exports / "data_lstm1x8.onnx").write_bytes(b"a model trained for 30 epochs")
    assert main(["train", "data.csv", *TINY]) == 0
    err = capsys.readouterr()
    assert "note: exports/data_lstm1x8.onnx exists and is kept; this model is exports/data_lstm1x8-2.onnx" in err.err
    assert "exported exports/data_lstm1x8-2.onnx" in err.out
    assert (exports / "data_lstm1x8.onnx").read_bytes() == b"a model trained for 30 epochs"
    assert (exports / "data_lstm1x8-2.onnx").stat().st_size > 1000
    # a file the user names with --out is replaced, as asked
    assert main(["train", "data.csv", *TINY, "--out", "exports/data_lstm1x8.onnx"]) == 0
    assert (exports / "data_lstm1x8.onnx").stat().st_size > 1000


def test_compare_writes_only_under_its_folder_and_never_replaces_a_model(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exports = work / "exports"
    exports.mkdir()
    (exports / "data_gru1x8.onnx").write_bytes(b"a model trained for 30 epochs")
    argv = ["compare", "data.csv", "--variants", "gru", "--best", "network", "--folds", "2", *TINY, "--out-dir", "X"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "best: gru, retrained on all the data; exported to X/data_gru1x8.onnx\n" in out
    assert snapshot(exports) == {"data_gru1x8.onnx": b"a model trained for 30 epochs"}  # nothing else in exports/
    first = (work / "X" / "data_gru1x8.onnx").read_bytes()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        "exported to X/data_gru1x8-2.onnx (a new name: X/data_gru1x8.onnx exists and is kept)" in out
        and "leaderboard: X/leaderboard.csv" in out
    )
    assert (work / "X" / "data_gru1x8.onnx").read_bytes() == first
    assert (work / "X" / "data_gru1x8-2.onnx").stat().st_size > 1000


def test_compare_default_folder_is_checked_before_training_and_never_reused(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "exports").write_text("not a folder")
    argv = ["compare", "data.csv", "--variants", "gru", "--folds", "2", *TINY]
    line = refused(capsys, argv)
    assert "cannot write --out-dir exports/compare_data:" in line and "is not a folder" in line
    (work / "exports").unlink()
    (work / "exports" / "compare_data" / "models").mkdir(parents=True)
    (work / "exports" / "compare_data" / "models" / "gru.onnx").write_bytes(b"an earlier backtest model")
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "note: exports/compare_data holds an earlier run and is kept; this run writes to exports/compare_data-2" in (
        captured.err
    )
    assert "leaderboard: exports/compare_data-2/leaderboard.csv" in captured.out
    assert (work / "exports" / "compare_data" / "models" / "gru.onnx").read_bytes() == b"an earlier backtest model"
    assert (work / "exports" / "compare_data-2" / "models" / "gru.onnx").is_file()


def test_compare_refuses_a_folder_where_its_files_are_the_data(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "X").mkdir()
    shutil.copyfile(work / "data.csv", work / "X" / "leaderboard.csv")
    (work / "X" / "leaderboard.json").symlink_to(work / "data.csv")
    before = snapshot(work)
    line = refused(capsys, ["compare", "X/leaderboard.csv", "--out-dir", "X", *TINY])
    assert "--out-dir X holds the data X/leaderboard.csv where tsrnn writes its own files" in line
    line = refused(capsys, ["compare", "data.csv", "--out-dir", "X", *TINY])
    assert "--out-dir X holds the data data.csv (X/leaderboard.json)" in line
    assert snapshot(work) == before


def test_compare_never_removes_model_files_it_did_not_write(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "models").mkdir()
    (work / "models" / "mine.onnx").write_bytes(b"the user's own model")
    argv = ["compare", "data.csv", "--variants", "gru", "--folds", "2", *TINY, "--out-dir", "."]
    line = refused(capsys, argv)
    assert "models holds model files that no tsrnn compare run wrote there (mine.onnx)" in line
    assert snapshot(work / "models") == {"mine.onnx": b"the user's own model"}
    (work / "models" / "mine.onnx").unlink()
    assert main(argv) == 0  # its own folder: written, then reused by the next run
    first = set(snapshot(work / "models"))
    assert "gru.onnx" in first and "mine.onnx" not in first
    assert main(argv) == 0
    capsys.readouterr()
    assert set(snapshot(work / "models")) == first


def test_tune_never_reuses_its_default_folder(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("optuna")
    earlier = work / "exports" / "tune_data"
    earlier.mkdir(parents=True)
    (earlier / "best.onnx").write_bytes(b"the best of an earlier search")
    argv = ["tune", "data.csv", "--trials", "1", "--epochs", "1", "--folds", "2", "--variants", "gru"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "note: exports/tune_data holds an earlier run and is kept; this run writes to exports/tune_data-2" in (
        captured.err
    )
    assert "its backtest model: exports/tune_data-2/best.onnx" in captured.out
    assert (earlier / "best.onnx").read_bytes() == b"the best of an earlier search"
    line = refused(capsys, ["tune", "exports/tune_data/best.onnx", "--out", "exports/tune_data", "--trials", "1"])
    assert "--out exports/tune_data holds the data exports/tune_data/best.onnx where tsrnn writes" in line
