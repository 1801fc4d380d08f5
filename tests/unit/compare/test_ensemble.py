"""Ensembles in one file: the exported graph forecasts the mean (or median) of its members, with known inputs,
at any batch; its metadata names the members and is checked on load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from tsrnn.cli.commands import main
from tsrnn.compare import ensemble as ens
from tsrnn.core.config import TrainConfig
from tsrnn.core.errors import ConfigError, ModelFileError
from tsrnn.data.loader import SeriesSet, load_series
from tsrnn.evaluate.backtest import make_folds
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.modelfile.artifact import METADATA_KEY
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster
from tsrnn.timeline.known import choose_known

FOLDS, H = 2, 12


def _members(
    data: SeriesSet, specs: list[tuple[str, int, bool, int]], tmp: Path
) -> tuple[list[ens.Member], list[Forecaster]]:
    """Tiny members (cell, window, bidirectional, layers) trained before the first origin, each exported alone."""
    members, files = [], []
    for i, (cell, L, bi, layers) in enumerate(specs):
        cfg = model_config(data, cell=cell, hidden_size=4, num_layers=layers, bidirectional=bi, input_len=L, horizon=H)
        exp = train_experiment(data.drop_last(FOLDS * H), cfg, TrainConfig(epochs=1, threads=1, seed=i), holdout=False)
        model = Forecaster.load(exp.export(tmp / f"member{i}.onnx").path)
        folds = make_folds(data, L, H, FOLDS)
        members.append(
            ens.Member(f"{cell}{L}", exp, model.predict_outputs(folds.history, folds.known), {"mase": 1.0 + i})
        )
        files.append(model)
    return members, files


def test_an_ensemble_file_forecasts_the_mean_of_its_members(tmp_path: Path) -> None:
    data = load_series("demo")
    members, files = _members(data, [("gru", 24, False, 1), ("lstm", 36, True, 2), ("rnn", 12, False, 1)], tmp_path)
    result = ens.export(members, "mean", tmp_path / "ensemble.onnx")
    model = Forecaster.load(result.path)
    assert model.input_len == 36 and len(onnx.load(str(result.path)).graph.input) == 1  # one file, one graph
    assert result.max_rel_error <= 1e-4 and result.batches == (1, 64)

    # tsrnn forecast's path: the last window of the CSV
    got = forecast_file(model, "demo").table["passengers"].to_numpy()
    each = [forecast_file(f, "demo").table["passengers"].to_numpy() for f in files]
    np.testing.assert_allclose(got, np.mean(each, axis=0), rtol=1e-5)

    # many windows at once (the unrolled graph from the members' largest threshold, 64)
    v = data.values[0]
    ends = np.arange(36, len(v) + 1)
    windows = np.stack([v[e - 36 : e] for e in ends])
    windows = np.concatenate([windows] * 2)  # 218 windows
    expected = np.mean([f.predict(windows[:, 36 - f.input_len :]) for f in files], axis=0)
    np.testing.assert_allclose(model.predict(windows), expected, rtol=1e-4, atol=1e-3)

    meta = model.meta
    assert meta.model == "ensemble" and meta.ensemble["method"] == "mean"
    assert [m["input_len"] for m in meta.ensemble["members"]] == [24, 36, 12]
    assert meta.describe().startswith("mean of 3 networks: GRU 1x4 (window 24), bidirectional LSTM 2x4")


def test_median_and_known_inputs(tmp_path: Path) -> None:
    data = load_series("demo")
    data = data.with_known(choose_known(data.freq, data.times, "month"))  # known inputs over window and horizon
    members, files = _members(data, [("gru", 12, False, 1), ("lstm", 24, False, 1)], tmp_path)
    path = ens.export(members, "median", tmp_path / "median.onnx").path
    model = Forecaster.load(path)
    assert model.meta.known == files[0].meta.known and model.input_len == 24
    got = forecast_file(model, "demo").table["passengers"].to_numpy()
    each = [forecast_file(f, "demo").table["passengers"].to_numpy() for f in files]
    np.testing.assert_allclose(got, np.median(each, axis=0), rtol=1e-5)  # of two: their mean

    # the backtest of an ensemble is its members' fold forecasts combined, and the file reproduces it
    folds = make_folds(data, 24, H, FOLDS)
    combined = ens.fold_outputs(members, "median")["forecast"]
    np.testing.assert_allclose(model.predict(folds.history, folds.known), combined, rtol=1e-5)
    scores = ens.score(members, "median", folds, 12)
    assert scores["mase"] > 0 and "mase_std" in scores


def test_median_of_three_is_the_middle_forecast() -> None:
    a, b, c = (np.full((2, 3, 1), x, dtype=np.float32) for x in (1.0, 7.0, 3.0))
    np.testing.assert_array_equal(ens.combine([a, b, c], "median"), c)
    np.testing.assert_array_equal(ens.combine([a, b, c], "mean"), np.full((2, 3, 1), 11 / 3, dtype=np.float32))
    assert [
        m.name
        for m in ens.top(
            [
                ens.Member(n, None, {}, {"mase": x})  # type: ignore[arg-type]
                for n, x in (("a", 2.0), ("b", float("nan")), ("c", 1.0))
            ],
            2,
        )
    ] == ["c", "a"]
    with pytest.raises(ConfigError, match="at least 2"):
        ens.check_ensemble(1)
    with pytest.raises(ConfigError, match="only 3 are trained"):
        ens.check_ensemble(4, "mean", 3)
    with pytest.raises(ConfigError, match="unknown --ensemble-method"):
        ens.check_ensemble(2, "mode")


def _edit_meta(src: Path, dst: Path, change) -> Path:
    proto = onnx.load(str(src))
    entry = next(p for p in proto.metadata_props if p.key == METADATA_KEY)
    meta = json.loads(entry.value)
    change(meta)
    entry.value = json.dumps(meta)
    onnx.save(proto, str(dst))
    return dst


def test_ensemble_metadata_is_checked_and_inspect_shows_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = load_series("demo")
    members, _ = _members(data, [("gru", 12, False, 1), ("rnn", 24, False, 1)], tmp_path)
    path = ens.export(members, "mean", tmp_path / "e.onnx").path
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "mean of 2 networks: GRU 1x4 (window 12), Simple RNN (tanh) 1x4 (window 24)" in out

    def without_members(m: dict) -> None:
        del m["ensemble"]

    def one_member(m: dict) -> None:
        m["ensemble"]["members"] = m["ensemble"]["members"][:1]

    def short_window(m: dict) -> None:
        m["ensemble"]["members"][1]["input_len"] = 12

    for change, words in (
        (without_members, "'ensemble' is missing"),
        (one_member, "'ensemble.members' is not a list of at least two"),
        (short_window, "read at most 12 steps, but the file's window is 24"),
    ):
        with pytest.raises(ModelFileError, match=words):
            Forecaster.load(_edit_meta(path, tmp_path / "bad.onnx", change))


def test_compare_ranks_the_ensemble_on_the_same_folds(tmp_path: Path) -> None:
    from tsrnn.compare.request import CompareRequest
    from tsrnn.compare.run import parse_variants, run_compare
    from tsrnn.evaluate.backtest import fold_scores, summarise

    data = load_series("demo")
    base = model_config(data, hidden_size=4, num_layers=1)
    board = run_compare(
        CompareRequest(
            data,
            tuple(parse_variants("gru,lstm,rnn")),
            base,
            TrainConfig(epochs=1, threads=1),
            folds=FOLDS,
            out_dir=tmp_path,
            export_best=False,
            ensemble=2,
        )
    )
    row = next(r for r in board.rows if r.name == "ensemble-2")
    nets = sorted((r for r in board.rows if r.kind == "model"), key=lambda r: r.metrics["mase"])[:2]
    assert row.kind == "ensemble" and row.label == f"mean of {nets[0].name}, {nets[1].name}"
    folds = make_folds(data, base.input_len, base.horizon, FOLDS)
    each = [Forecaster.load(r.model_path).predict(folds.history) for r in nets]
    expected = summarise(fold_scores(folds, np.mean(each, axis=0), 12))
    assert row.metrics["mase"] == pytest.approx(expected["mase"], rel=1e-5)
    assert [r.metrics["mase"] for r in board.rows] == sorted(r.metrics["mase"] for r in board.rows)
    assert row.params == sum(r.params for r in nets) and "ensemble-2" in board.verdict
    saved = json.loads(Path(board.files["json"]).read_text())
    assert "trained" not in saved["rows"][0] and saved["protocol"]["ensemble"]["members"] == [r.name for r in nets]
    meta = Forecaster.load(row.model_path).meta
    assert meta.model == "ensemble" and [m["name"] for m in meta.ensemble["members"]] == [r.name for r in nets]
    assert meta.backtest["metrics"]["mase"] == pytest.approx(row.metrics["mase"])
