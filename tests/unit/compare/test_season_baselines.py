"""Seasonal naive at every season of the data: one leaderboard row each, and "repeat last week" exported when it
wins, its file reading a week of history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsrnn.compare.request import CompareRequest
from tsrnn.compare.run import format_markdown, parse_variants, run_compare
from tsrnn.core.config import TrainConfig
from tsrnn.data.loader import load_series
from tsrnn.evaluate.backtest import baseline_forecasts, make_folds
from tsrnn.evaluate.metrics import baseline_kind, baseline_seasons, baselines, seasonal_name
from tsrnn.experiment.pipeline import model_config
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster

WEEK = 168


def test_one_seasonal_naive_per_season_by_hand() -> None:
    y = np.arange(10.0)[:, None]
    out = baselines([y], 5, 2, (2, 4))
    assert list(out) == ["naive", "seasonal_naive_2", "seasonal_naive_4", "drift"]
    np.testing.assert_array_equal(out["seasonal_naive_2"][0, :, 0], [8, 9, 8, 9, 8])
    np.testing.assert_array_equal(out["seasonal_naive_4"][0, :, 0], [6, 7, 8, 9, 6])
    one = baselines([y], 3, 4)  # one season: the plain name, as before
    assert list(one) == ["naive", "seasonal_naive", "drift"]
    np.testing.assert_array_equal(one["seasonal_naive"][0, :, 0], [6, 7, 8])


def test_baseline_seasons_and_names() -> None:
    assert baseline_seasons(48, (48, 336)) == (48, 336)
    assert baseline_seasons(48, (336,)) == (48, 336)  # the main season (MASE's) keeps its row
    assert baseline_seasons(12, ()) == (12,) and baseline_seasons(1, ()) == (1,)
    assert seasonal_name(336, (48, 336)) == "seasonal_naive_336" and seasonal_name(12, (12,)) == "seasonal_naive"
    assert baseline_kind("seasonal_naive_336", 48) == ("seasonal_naive", 336)
    assert baseline_kind("seasonal_naive", 48) == ("seasonal_naive", 48)
    assert baseline_kind("drift", 48) == ("drift", 48)


def test_a_season_longer_than_the_history_gets_no_row() -> None:
    data = load_series("demo")  # 144 months; the first origin leaves 108
    folds = make_folds(data, 24, 12, 3)
    assert list(baseline_forecasts(folds, 12, (12, 120))) == ["naive", "seasonal_naive", "drift"]
    assert "seasonal_naive_60" in baseline_forecasts(folds, 12, (12, 60))


def _weekly(path: Path, weeks: int = 6) -> tuple[Path, np.ndarray]:
    """Hourly data that repeats one week exactly (every day different; every value exact in float32)."""
    pattern = np.random.default_rng(3).integers(10, 60, WEEK).astype(float)
    times = np.datetime64("2024-01-01T00:00") + np.arange(WEEK * weeks) * np.timedelta64(1, "h")
    values = np.tile(pattern, weeks)
    path.write_text("time,load\n" + "".join(f"{t},{v:g}\n" for t, v in zip(times, values, strict=True)))
    return path, pattern


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")
def test_repeat_last_week_wins_and_its_file_reads_a_week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path, pattern = _weekly(tmp_path / "weekly.csv")
    data = load_series(path)
    base = model_config(data, hidden_size=4, num_layers=1)
    assert base.input_len < WEEK  # the network's window cannot see the week
    board = run_compare(
        CompareRequest(
            data, tuple(parse_variants("gru")), base, TrainConfig(epochs=1, threads=1), folds=2, seasons=(24, WEEK)
        )
    )
    names = [r.name for r in board.rows]
    assert {"seasonal_naive_24", "seasonal_naive_168", "naive", "drift"} <= set(names)
    week, day = (next(r for r in board.rows if r.name == n) for n in ("seasonal_naive_168", "seasonal_naive_24"))
    assert week.metrics["mase"] == 0 and day.metrics["mase"] > 0.5  # MASE scaled by the main season (24)
    assert week.label == "seasonal naive 168"
    assert board.winner == "seasonal_naive_168" and board.exported == "seasonal_naive_168"
    assert board.protocol.seasons == (24, WEEK) and board.protocol.baseline_seasons == (24, WEEK)
    assert "seasonal naive (season 168), no network" in board.verdict
    model = Forecaster.load(board.best_path)
    assert model.meta.input_len == WEEK and model.meta.season == WEEK
    assert model.meta.backtest is not None and model.meta.backtest["file_metrics"]["mase"] == 0
    # the file forecasts the week's next hours from the last week of the CSV
    table = forecast_file(model, path).table
    np.testing.assert_array_equal(table["load"].to_numpy(), pattern[: base.horizon].astype(np.float32))
    assert "seasonal_naive_168 !" in format_markdown(board)


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")  # no MASE: no change from day to day
def test_the_main_season_alone_keeps_the_plain_row(tmp_path: Path, pure_season) -> None:
    data = load_series(pure_season.write(tmp_path / "day.csv"))
    base = model_config(data, hidden_size=4, num_layers=1)
    board = run_compare(
        CompareRequest(
            data,
            tuple(parse_variants("gru")),
            base,
            TrainConfig(epochs=1, threads=1),
            folds=2,
            seasons=(),
            export_best=False,
            out_dir=tmp_path / "out",
        )
    )
    assert [r.name for r in board.rows if r.kind == "baseline"].count("seasonal_naive") == 1
    assert board.protocol.seasons == () and board.protocol.baseline_seasons == (24,)
