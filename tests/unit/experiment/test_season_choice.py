"""Seasons by default: two brief trainings, with the data's seasons and without, and the validation block
decides; the test block is never read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsrnn.core.config import DataConfig, TrainConfig
from tsrnn.data.loader import load_series
from tsrnn.data.seasons import choice_words
from tsrnn.experiment.pipeline import model_config
from tsrnn.experiment.season_choice import SeasonChoice, auto_candidates, choose_seasons, probe_seconds

BRIEF = TrainConfig(epochs=6, seed=0, lr=3e-3, windows_per_epoch=256)


def _hourly(path: Path, values: np.ndarray) -> Path:
    times = np.datetime64("2024-01-01T00:00") + np.arange(len(values)).astype("timedelta64[h]")
    path.write_text("time,load\n" + "".join(f"{t}:00,{v:.4f}\n" for t, v in zip(times, values, strict=True)))
    return path


def _weekly(path: Path, noise: float = 0.3) -> Path:
    """Ten weeks of hourly values whose only signal is each weekday's level."""
    t = np.arange(24 * 7 * 10)
    levels = np.array([0.0, 1.0, -1.0, 2.0, 0.5, -2.5, -3.0])
    return _hourly(path, 50 + 3 * levels[(t // 24) % 7] + noise * np.random.default_rng(0).normal(size=len(t)))


def test_a_weekly_pattern_chooses_the_seasons(tmp_path: Path) -> None:
    """Each weekday its own level: a 48-hour window cannot tell the days two days ahead, the week can."""
    data = load_series(_weekly(tmp_path / "w.csv"), DataConfig())
    candidates = auto_candidates(data, 48, 48)
    assert candidates == (168,)  # no daily wave: the data check leaves the day out
    cfg = model_config(data, input_len=48, horizon=48, hidden_size=8, num_layers=1, cell="gru")
    choice = choose_seasons(data, cfg, BRIEF, candidates, seconds=60)
    assert choice.how == "validation" and choice.seasons == (168,), choice
    assert choice.val_with is not None and choice.val_without is not None
    assert choice.val_with < choice.val_without
    words = choice.describe(data.freq)
    assert words.startswith("seasons 168 (a week): used, the validation block's loss ")


def test_a_random_walk_keeps_the_plain_network(tmp_path: Path) -> None:
    """Seasons the data does not have only add noise to the window: the validation block says so."""
    walk = 100 + np.cumsum(np.random.default_rng(1).normal(size=24 * 7 * 10))
    data = load_series(_hourly(tmp_path / "rw.csv", walk), DataConfig())
    cfg = model_config(data, input_len=48, horizon=24, hidden_size=8, num_layers=1, cell="gru")
    choice = choose_seasons(data, cfg, BRIEF, (168,), seconds=60)
    assert choice.how == "validation" and choice.seasons == (), choice
    assert choice.val_with is not None and choice.val_without is not None and choice.val_with > choice.val_without
    assert ": not used, the validation block's loss" in choice.describe(data.freq)


def test_no_brief_training_where_there_is_nothing_to_decide(tmp_path: Path) -> None:
    t = np.arange(24 * 7 * 3)
    data = load_series(_hourly(tmp_path / "d.csv", 10 + np.sin(2 * np.pi * t / 24)), DataConfig())
    cfg = model_config(data, input_len=48, horizon=24, hidden_size=4)
    assert choose_seasons(data, cfg, BRIEF, (), 60) == SeasonChoice((), (), "none")
    assert choose_seasons(data, cfg, BRIEF, (24,), 60) == SeasonChoice((), (24,), "seen")  # the window holds it
    short = choose_seasons(data, cfg, BRIEF, (24, 168 * 3), 60)  # three weeks of history before a window
    assert short == SeasonChoice((), (24, 504), "short")
    assert "too short to train with a season's history" in short.describe(data.freq)
    assert choice_words({"seasons": [48, 336], "how": "asked"}) == "seasons 48, 336 (as asked)"


def test_the_brief_trainings_share_a_budget() -> None:
    assert probe_seconds(None) == 30.0
    assert probe_seconds(300.0) == 18.0  # 6% of a 5-minute budget
    assert probe_seconds(10.0) == 1.0


def test_compare_tries_the_seasons_once_and_every_variant_uses_the_choice(tmp_path: Path) -> None:
    from tsrnn.compare.request import CompareRequest
    from tsrnn.compare.run import format_markdown, parse_variants, run_compare
    from tsrnn.runtime.inference import Forecaster

    data = load_series(_weekly(tmp_path / "w.csv"), DataConfig())
    base = model_config(data, input_len=48, horizon=24, hidden_size=8, num_layers=1)
    board = run_compare(
        CompareRequest(
            data,
            tuple(parse_variants("gru,lstm")),
            base,
            TrainConfig(epochs=3, lr=3e-3, windows_per_epoch=256),
            folds=2,
            out_dir=tmp_path / "cmp",
            try_seasons=(168,),
        )
    )
    choice = board.protocol.season_choice
    assert choice is not None
    assert choice["how"] == "validation" and choice["candidates"] == [168]
    assert (choice["val_loss_with"] < choice["val_loss_without"]) == (choice["seasons"] == [168])
    for row in (r for r in board.rows if r.kind == "model"):
        assert Forecaster.load(row.model_path).meta.seasons == tuple(choice["seasons"])
    assert choice_words(choice) in format_markdown(board)


def test_tune_searches_the_seasons_on_and_off(tmp_path: Path) -> None:
    from tsrnn.tune.request import TuneRequest
    from tsrnn.tune.run import run_tune

    data = load_series(_weekly(tmp_path / "w.csv", noise=0.0), DataConfig())
    base = model_config(data, horizon=24, hidden_size=8, num_layers=1)
    result = run_tune(
        TuneRequest(
            data,
            base,
            TrainConfig(epochs=1, windows_per_epoch=64),
            trials=6,
            variants="gru",
            folds=2,
            input_len=48,
            seasons=(168,),
            out_dir=tmp_path / "tune",
        )
    )
    assert result.protocol.search is not None and result.protocol.search["seasons"] == ["", "168"]
    tried = {r.params["seasons"] for r in result.trials}
    assert tried == {"", "168"}, tried
    best = result.best
    assert best is not None
    flag = best.params["seasons"] or "none"
    assert f"--seasons {flag}" in result.command


def test_an_ensemble_of_seasonal_networks_is_one_file_reading_their_history(tmp_path: Path) -> None:
    from tsrnn.compare.request import CompareRequest
    from tsrnn.compare.run import parse_variants, run_compare
    from tsrnn.evaluate.backtest import fold_scores, make_folds, summarise
    from tsrnn.runtime.inference import Forecaster

    data = load_series(_weekly(tmp_path / "w.csv", noise=0.0), DataConfig())
    base = model_config(data, input_len=48, horizon=24, hidden_size=4, num_layers=1, seasons=(24, 168))
    board = run_compare(
        CompareRequest(
            data,
            tuple(parse_variants("gru,lstm")),
            base,
            TrainConfig(epochs=1, windows_per_epoch=64),
            folds=2,
            out_dir=tmp_path / "cmp",
            export_best=False,
            ensemble=2,
        )
    )
    row = next(r for r in board.rows if r.kind == "ensemble")
    meta = Forecaster.load(row.model_path).meta
    assert meta.seasons == (24, 168) and meta.history_len == 48 + 168
    folds = make_folds(data, 48 + 168, 24, 2)
    each = [Forecaster.load(r.model_path).predict(folds.history) for r in board.rows if r.kind == "model"]
    expected = summarise(fold_scores(folds, np.mean(each, axis=0), 24))
    assert row.metrics["mase"] == pytest.approx(expected["mase"], rel=1e-5)
