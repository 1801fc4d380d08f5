"""Compare, rolling-origin backtests, quantile forecasts and the direction task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsrnn.compare.request import CompareRequest
from tsrnn.compare.run import parse_variants, run_compare
from tsrnn.core.config import ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.data.loader import load_series
from tsrnn.data.windows import split_series
from tsrnn.evaluate.backtest import fold_scores, make_folds
from tsrnn.evaluate.metrics import direction_scores, interval_scores
from tsrnn.experiment.pipeline import model_config, score_direction, train_experiment
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster

DATA = Path(__file__).parents[2] / "data"


def test_parse_variants() -> None:
    vs = parse_variants("rnn, bigru,lstm-3")
    assert [(v.cell, v.bidirectional, v.num_layers) for v in vs] == [
        ("rnn", False, 1),
        ("gru", True, 1),
        ("lstm", False, 3),
    ]
    assert vs[1].label == "bidirectional GRU"
    with pytest.raises(ConfigError, match="unknown variant 'transformer'"):
        parse_variants("gru,transformer")


def test_folds_are_the_last_horizons_oldest_first() -> None:
    data = load_series("demo")
    f = make_folds(data, input_len=24, horizon=12, folds=3)
    v = data.values[0][:, 0]
    assert f.history.shape == (3, 24, 1) and f.actual.shape == (3, 12, 1)
    np.testing.assert_array_equal(f.actual[0, :, 0], v[108:120])
    np.testing.assert_array_equal(f.actual[2, :, 0], v[132:144])
    np.testing.assert_array_equal(f.history[1, :, 0], v[96:120])
    assert len(f.insample[1]) == 120
    with pytest.raises(DataError, match="use fewer --folds"):
        make_folds(data, input_len=24, horizon=12, folds=9)


def test_batched_backtest_equals_one_origin_at_a_time(tmp_path: Path) -> None:
    data = load_series(DATA / "long_format.csv")
    cfg = model_config(data, cell="gru", hidden_size=8, num_layers=1, input_len=12, horizon=6)
    exp = train_experiment(data.drop_last(18), cfg, TrainConfig(epochs=1), holdout=False)
    model = Forecaster.load(exp.export(tmp_path / "m.onnx").path)
    folds = make_folds(data, 12, 6, 3)
    batched = model.predict(folds.history)
    for k in range(3):  # one origin and one series at a time, from each series' own truncated history
        for s, v in enumerate(data.values):
            origin = len(v) - (3 - k) * 6
            single = model.predict(v[None, origin - 12 : origin])
            np.testing.assert_allclose(batched[k * 3 + s], single[0], rtol=1e-5, atol=1e-4)
    scores = fold_scores(folds, batched, season=12)
    assert len(scores) == 3 and scores[0]["mase"].shape == (1,)


def test_compare_lists_every_variant_and_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = load_series(DATA / "real" / "lynx_annual.csv")
    variants = parse_variants("rnn,gru,lstm,bigru,bilstm,gru-3,lstm-3")
    base = model_config(data, hidden_size=4, num_layers=1)
    board = run_compare(CompareRequest(data, tuple(variants), base, TrainConfig(epochs=1), folds=2))
    names = [r.name for r in board.rows]
    assert sorted(names) == sorted([v.name for v in variants] + ["naive", "seasonal_naive", "drift"])
    mase = [r.metrics["mase"] for r in board.rows]
    assert mase == sorted(mase)
    best = next(r for r in board.rows if r.name == board.best)
    assert best.kind == "model" and all(
        best.metrics["mase"] <= r.metrics["mase"] for r in board.rows if r.kind == "model"
    )
    assert all(
        r.params > 0 and r.latency_ms > 0 and Path(r.model_path).is_file() for r in board.rows if r.kind == "model"
    )
    assert Path(board.best_path).parent == Path("exports", "compare_lynx_annual") and Path(board.best_path).is_file()
    assert Forecaster.load(board.best_path).meta.backtest["protocol"]["folds"] == 2
    for ext in ("csv", "json", "md"):
        assert Path(board.files[ext]).is_file()
    assert "| 1 |" in Path(board.files["md"]).read_text()


def test_quantiles_never_cross_and_export(tmp_path: Path) -> None:
    data = load_series("demo")
    cfg = model_config(data, cell="lstm", hidden_size=8, num_layers=1, quantiles=(0.1, 0.5, 0.9))
    exp = train_experiment(data, cfg, TrainConfig(epochs=2))
    assert {"coverage", "msis"} <= set(exp.scores["model"]["passengers"])
    model = Forecaster.load(exp.export(tmp_path / "q.onnx").path)
    assert model.quantiles == [0.1, 0.5, 0.9]
    rng = np.random.default_rng(0)
    x = (data.values[0][None, -24:] * rng.uniform(0.2, 5, size=(256, 1, 1))).astype(np.float32)
    out = model.predict_outputs(x)
    q = out["quantiles"]
    assert q.shape == (256, 12, 1, 3)
    assert np.all(np.diff(q, axis=-1) >= 0)
    np.testing.assert_array_equal(out["forecast"], q[..., 1])
    table = forecast_file(model, "demo").table
    assert table.columns == ["time", "passengers_q10", "passengers_q50", "passengers_q90"]


def test_interval_coverage_by_hand() -> None:
    actual = np.array([[[1.0], [5.0], [3.0], [10.0]]])
    lower = np.full_like(actual, 2.0)
    upper = np.full_like(actual, 6.0)
    s = interval_scores(actual, lower, upper, 0.8, scale=np.array([[1.0]]))
    assert s["coverage"][0] == pytest.approx(0.5)
    # widths 4 each, plus 2 / 0.2 * (1 below at t0, 4 above at t3)
    assert s["msis"][0] == pytest.approx((4 * 4 + 10 * 1 + 10 * 4) / 4)


def test_direction_accuracy_and_majority_by_hand() -> None:
    s = direction_scores(np.array([0.9, 0.2, 0.6, 0.4]), np.array([True, False, False, False]), train_up_share=0.7)
    assert s["model"]["accuracy"] == pytest.approx(0.75)  # right on 1st, 2nd, 4th
    assert s["majority"]["accuracy"] == pytest.approx(0.25)


def test_direction_labels_from_windows() -> None:
    data = load_series(DATA / "tab_separated.csv")
    split = split_series(data, input_len=3, horizon=1, test_len=8)
    up = split.test[:, 3, 0] > split.test[:, 2, 0]
    scores = score_direction(split, np.where(up, 0.8, 0.1), "value")
    assert scores["model"]["value"]["accuracy"] == 1.0
    assert 0 < scores["majority"]["value"]["accuracy"] < 1


def test_classic_lstm_direction_model_returns_probability(tmp_path: Path) -> None:
    data = load_series("demo")
    cfg = model_config(data, cell="lstm", hidden_size=64, num_layers=1, input_len=10, horizon=1, task="direction")
    exp = train_experiment(data, cfg, TrainConfig(epochs=2))
    assert set(exp.scores) == {"model", "majority"} and exp.split.test_len == 14
    model = Forecaster.load(exp.export(tmp_path / "d.onnx").path)
    p = model.predict(data.values[0][None, -10:])
    assert p.shape == (1, 1) and 0 <= float(p[0, 0]) <= 1
    assert forecast_file(model, "demo").table.columns == ["time", "passengers_up_probability"]


def test_direction_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="one step of one target"):
        ModelConfig(task="direction", horizon=3)
    with pytest.raises(ConfigError, match="quantiles must be distinct"):
        ModelConfig(quantiles=(0.9, 0.1))
