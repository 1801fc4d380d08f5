"""An honest winner: baselines as model files, and compare exporting one when it beats every network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

import tsrnn.export.parity as parity
from tsrnn.compare.request import CompareRequest
from tsrnn.compare.run import format_markdown, format_text, parse_variants, run_compare
from tsrnn.core.config import TrainConfig
from tsrnn.data.loader import load_series
from tsrnn.evaluate.backtest import baseline_forecasts, make_folds
from tsrnn.experiment.pipeline import model_config
from tsrnn.export import baselines as baselines_onnx
from tsrnn.modelfile import artifact
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster
from tsrnn.timeline.known import choose_known

pytestmark = pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")  # no MASE: no seasonal change


@pytest.fixture
def seasonal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pure_season) -> Path:
    """A series that repeats one day exactly, hour after hour (conftest.PureSeason), in a fresh current folder."""
    monkeypatch.chdir(tmp_path)
    return pure_season.write(tmp_path / "seasonal.csv")


def _compare(path: Path, known: bool = False, **kwargs):
    data = load_series(path)
    if known:
        data = data.with_known(choose_known(data.freq, data.times, "dow", None, None, data.future_names, 48))
    base = model_config(data, hidden_size=4, num_layers=1, quantiles=kwargs.pop("quantiles", ()))
    kwargs.setdefault("seasons", (24,))  # the day, the data's one season: one seasonal-naive row
    board = run_compare(
        CompareRequest(data, tuple(parse_variants("gru")), base, TrainConfig(epochs=1, threads=1), folds=2, **kwargs)
    )
    return data, board


def test_a_pure_season_makes_the_seasonal_naive_file_win_and_repeat_the_season(seasonal: Path, pure_season) -> None:
    _, board = _compare(seasonal, known=True)
    assert board.winner == "seasonal_naive" and board.baseline_wins and board.best == "gru"
    assert board.exported == "seasonal_naive"
    assert board.best_path == str(Path("exports") / "compare_seasonal" / "seasonal_seasonal_naive.onnx")
    assert "seasonal_naive beats every network: MAE 0.000 against" in board.verdict
    assert "The exported model is that baseline: seasonal naive (season 24), no network." in board.verdict
    model = Forecaster.load(board.best_path)
    meta = model.meta
    assert meta.model == "seasonal_naive" and not meta.is_network and meta.cell == artifact.NO_CELL
    assert meta.describe() == "seasonal naive (season 24), no network"
    assert meta.known and [i.name for i in model.session.get_inputs()] == ["history", "known"]
    assert meta.backtest is not None and meta.backtest["file_metrics"]["mae"] == 0
    table = forecast_file(model, seasonal).table
    np.testing.assert_array_equal(table["load"].to_numpy(), np.array(pure_season.pattern, dtype=np.float32))
    # the same file sits beside the variants' models, and the leaderboard says so plainly
    row = next(r for r in board.rows if r.name == "seasonal_naive")
    assert row.model_path and Forecaster.load(row.model_path).meta.model == "seasonal_naive"
    assert "seasonal_naive !" in format_text(board)
    md = format_markdown(board)
    assert "**A baseline wins.** seasonal_naive beats every network" in md and "! a baseline" in md
    saved = json.loads(Path(board.files["json"]).read_text())
    assert saved["winner"] == "seasonal_naive" and saved["winner_kind"] == "baseline"
    assert saved["exported"] == "seasonal_naive" and "beats every network" in saved["verdict"]


def test_best_network_exports_a_network_even_when_a_baseline_wins(seasonal: Path) -> None:
    _, board = _compare(seasonal, best="network")
    assert board.winner == "seasonal_naive" and board.exported == "gru"
    meta = Forecaster.load(board.best_path).meta
    assert meta.model == "network" and meta.cell == "gru" and meta.is_network
    assert board.verdict.endswith("The best network, gru, is exported, as asked.")


def test_quantiles_export_the_best_network_with_a_note(seasonal: Path) -> None:
    _, board = _compare(seasonal, quantiles=(0.1, 0.5, 0.9))
    assert board.winner == "seasonal_naive" and board.exported == "gru"
    assert "a baseline gives no quantiles: the best network, gru, is exported instead" in board.verdict
    assert Forecaster.load(board.best_path).meta.quantiles == (0.1, 0.5, 0.9)


def test_no_export_asked_still_names_the_winner(seasonal: Path) -> None:
    _, board = _compare(seasonal, export_best=False)
    assert board.best_path is None and board.exported == "" and board.winner == "seasonal_naive"
    assert "Its model file:" in board.verdict


@pytest.mark.parametrize("kind", ["naive", "seasonal_naive", "drift"])
def test_baseline_files_match_the_backtest_baselines(kind: str, tmp_path: Path) -> None:
    data = load_series("demo")
    season, L, H = 12, 24, 12
    folds = make_folds(data, L, H, 3)
    meta = baselines_onnx.meta_for(kind, data, L, H, season)
    history, known = baselines_onnx.sample_windows(data, L, H)
    out = baselines_onnx.export_baseline(kind, tmp_path / f"{kind}.onnx", meta, history, known)
    assert out.max_rel_error <= parity.TOLERANCE and out.batches[0] == 1
    model = Forecaster.load(out.path)
    got = model.predict(folds.history)
    if kind == "drift":  # the file draws its line over its window, the backtest over all the history
        want = baselines_onnx.reference(kind, folds.history, H, 1, season)
    else:
        want = baseline_forecasts(folds, season)[kind].astype(np.float32)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-4)
    assert model.meta.describe().endswith("no network")


def test_a_season_longer_than_the_window_gets_a_window_of_one_season() -> None:
    assert baselines_onnx.window_for("seasonal_naive", 24, 52) == 52
    assert baselines_onnx.window_for("seasonal_naive", 104, 52) == 104
    assert baselines_onnx.window_for("drift", 24, 52) == 24
    with pytest.raises(ValueError, match="at least one season"):
        baselines_onnx.build_graph("seasonal_naive", 24, 12, 1, 1, 0, 52)


def test_model_kind_in_the_metadata(tmp_path: Path) -> None:
    data = load_series("demo")
    meta = baselines_onnx.meta_for("naive", data, 24, 12, 12)
    d = json.loads(artifact.dumps(meta))
    assert d["model"] == "naive" and d["cell"] == "none" and d["scaling"] == "none"
    assert artifact.loads(artifact.dumps(meta)) == meta
    older = {k: v for k, v in d.items() if k != "model"}  # written before the field existed
    older.update(cell="lstm", scaling="window", num_layers=2)
    assert artifact.ModelMeta.from_dict(older).model == "network"
    with pytest.raises(artifact.MetadataError, match="'model' is 'ensemble2'"):
        artifact.ModelMeta.from_dict({**d, "model": "ensemble2"})
    with pytest.raises(artifact.MetadataError, match="'cell' is 'none'"):
        artifact.ModelMeta.from_dict({**d, "model": "network"})
    assert set(artifact.BASELINE_MODELS) < set(artifact.MODEL_KINDS)


def test_the_baseline_graph_is_plain_onnx(tmp_path: Path) -> None:
    proto = baselines_onnx.build_graph("drift", 10, 5, 3, 2, 4, 1)
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == ["history", "known"]
    assert [o.name for o in proto.graph.output] == ["forecast"]
    assert proto.opset_import[0].version == baselines_onnx.OPSET
