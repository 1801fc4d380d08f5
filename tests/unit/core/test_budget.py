"""Time budgets: parsing, the plan's estimate and shares, and a training that stops at its time limit."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tsrnn.core.budget import Deadline, format_seconds, parse_budget, parse_optional_budget
from tsrnn.core.config import TrainConfig
from tsrnn.core.errors import ConfigError
from tsrnn.data.loader import load_series
from tsrnn.data.windows import split_series
from tsrnn.experiment.pipeline import model_config
from tsrnn.experiment.plan import END_RESERVE_S, RunPlan, Training, Warmup, measure, waterfill
from tsrnn.model.train import epoch_steps, fit


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("600", 600),
        ("2.5m", 150),
        (" 1 h 5 min ", 3900),
        (45, 45),
    ],
)
def test_parse_budget(text: str | int, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "5x", "m", "0s", "-5m", "10m5"])
def test_parse_budget_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ConfigError, match="budget"):
        parse_budget(text)


def test_no_budget_words_and_formatting() -> None:
    assert [parse_optional_budget(x) for x in (None, "", "none", "Off")] == [None] * 4
    assert parse_optional_budget("2m") == 120
    assert Deadline.from_text("none").seconds is None and Deadline.from_text("90s").seconds == 90
    assert [format_seconds(x) for x in (4.2, 200, 3900)] == ["4 s", "3 min 20 s", "1 h 05 min"]


def test_deadline_counts_down_from_its_start() -> None:
    d = Deadline(10.0, start=time.monotonic() - 4.0)
    assert 5.5 < d.remaining() <= 6.0 and not d.expired() and d.fits(5.0) and not d.fits(7.0)
    assert Deadline(1.0, start=time.monotonic() - 2.0).expired()
    unlimited = Deadline(None)
    assert unlimited.remaining() == float("inf") and not unlimited.expired()
    assert "left" in d.describe() and "left" not in unlimited.describe()


def test_waterfill_gives_small_needs_what_they_need_and_splits_the_rest() -> None:
    assert waterfill(100, [10, 80, 80]) == [10, 45, 45]
    assert waterfill(100, [10, 20, 30]) == [10, 20, 30]
    assert waterfill(-5, [10, 20]) == [0, 0]
    assert sum(waterfill(60, [50, 50, 5])) == pytest.approx(60)


def _plan(budget: float | None, epoch_s: list[float], epochs: int = 100, final: bool = False) -> RunPlan:
    trainings = [Training(f"m{i}", Warmup(f"m{i}", s / 10, 0.0, 10)) for i, s in enumerate(epoch_s)]
    return RunPlan(Deadline(budget), trainings, TrainConfig(epochs=epochs), final=final)


def test_estimate_without_a_budget_is_every_epoch_up_to_the_cap() -> None:
    plan = _plan(None, [1.0, 2.0], epochs=10)
    assert plan.unbounded() == pytest.approx(10 * 3 + 2 * plan.overhead_s)
    text = plan.describe("2 variants")
    assert text.startswith("about 32 s at most for 2 variants (up to 10 epochs each") and text.endswith("no budget")
    cfg, share = plan.config_for("m0")
    assert cfg.time_limit is None and cfg.epochs == 10 and share.seconds is None


def test_estimate_and_shares_within_a_budget() -> None:
    # 7 variants of 1 s per epoch, 100 epochs each: 700 s needed, 60 s given
    plan = _plan(60, [1.0] * 7)
    assert plan.estimate() == pytest.approx(60, abs=0.5)
    text = plan.describe("7 variants")
    assert "about 1 min 00 s for 7 variants, budget 1 min 00 s" in text and "would take about 11 min" in text
    cfg, share = plan.config_for("m0")
    available = 60 - 7 * plan.overhead_s - END_RESERVE_S
    assert share.seconds == pytest.approx(available / 7, rel=0.01) and cfg.time_limit == share.seconds
    assert share.epochs == round(share.seconds / 1.0) and cfg.epochs == 100  # the time limit ends it, not the plan
    # a budget that holds every epoch: the estimate is the need, each training may use its full cap
    roomy = _plan(600, [1.0, 0.5], epochs=20)
    assert roomy.estimate() == pytest.approx(30 + 2 * roomy.overhead_s + END_RESERVE_S)
    assert "at most for" in roomy.describe("2 variants") and roomy.config_for("m0")[1].epochs == 20


def test_a_fast_variant_leaves_its_time_to_the_slow_ones_and_the_plan_learns() -> None:
    plan = _plan(100, [0.1, 10.0, 10.0], epochs=10)  # needs: 1 s, 100 s, 100 s
    cfg, _ = plan.config_for("m0")
    assert cfg.epochs == 10  # its whole cap fits in its share
    plan.finished("m0", None, 1.0)
    _, slow = plan.config_for("m1")
    assert slow.seconds == pytest.approx((100 - 2 * plan.overhead_s - END_RESERVE_S) / 2, rel=0.02)
    assert slow.epochs == round(slow.seconds / 10.0)


def test_windows_per_epoch_caps_the_steps() -> None:
    assert epoch_steps(10_000, TrainConfig(batch_size=32)) == 313
    assert epoch_steps(10_000, TrainConfig(batch_size=32, windows_per_epoch=2048)) == 64
    assert epoch_steps(100, TrainConfig(batch_size=32, windows_per_epoch=2048)) == 20  # MIN_STEPS
    with pytest.raises(ConfigError, match="windows per epoch"):
        TrainConfig(windows_per_epoch=0)
    with pytest.raises(ConfigError, match="time limit"):
        TrainConfig(time_limit=0)


def test_warmup_measures_the_real_windows() -> None:
    data = load_series("demo")
    cfg = model_config(data, cell="gru", hidden_size=4, num_layers=1)
    split = split_series(data, cfg.input_len, cfg.horizon)
    w = measure("gru", cfg, TrainConfig(threads=1), split)
    assert w.step_s > 0 and w.val_s > 0 and w.steps == epoch_steps(len(split.train), TrainConfig())
    assert w.epoch_s == pytest.approx(w.steps * w.step_s + w.val_s)


def test_fit_stops_at_its_time_limit_with_the_best_weights() -> None:
    data = load_series("demo")
    cfg = model_config(data, cell="lstm", hidden_size=4, num_layers=1)
    split = split_series(data, cfg.input_len, cfg.horizon)
    limit = 1.5
    result = fit(cfg, TrainConfig(epochs=100_000, patience=100_000, time_limit=limit, threads=1), split)
    assert result.stopped == "budget"
    assert result.seconds < limit + 5  # the step and validation pass under way, on a busy machine
    assert result.history[-1].limit == limit and result.history[-1].eta <= limit
    best = min(h.val_loss for h in result.history)
    assert result.history[result.best_epoch - 1].val_loss == best and np.isfinite(best)


def test_a_spent_budget_is_said_so_and_compare_skips_what_it_cannot_train(tmp_path, monkeypatch) -> None:
    plan = RunPlan(
        Deadline(1.0, start=time.monotonic() - 5), [Training("m0", Warmup("m0", 0.1, 0.0, 10))], TrainConfig()
    )
    assert plan.spent() and "spent already" in plan.describe("x") and "one optimiser step" in plan.describe("x")
    from tsrnn.compare.request import CompareRequest
    from tsrnn.compare.run import parse_variants, run_compare

    monkeypatch.chdir(tmp_path)
    data = load_series("demo")
    late = Deadline(2.0, start=time.monotonic() - 60)
    board = run_compare(
        CompareRequest(
            data,
            tuple(parse_variants("gru,lstm")),
            model_config(data, hidden_size=4, num_layers=1),
            TrainConfig(epochs=5, threads=1),
            folds=2,
            deadline=late,
        )
    )
    assert board.protocol.skipped == ("gru", "lstm") and "the trainings are skipped" in str(board.protocol.estimate)
    assert {r.kind for r in board.rows} == {"baseline"} and board.best == "" and board.best_path is None
    assert board.verdict == "no variant was ranked"
