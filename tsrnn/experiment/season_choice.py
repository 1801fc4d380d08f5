"""Whether a model uses its data's seasons: as asked (--seasons LIST or none), or as the validation block says.

Left to the defaults, a model of data whose seasons are longer than its input window (half-hourly demand: a
day and a week) is trained twice briefly, with the seasonal profile (`tsrnn.core.config.season_lags`) and
without, on the same windows, seed and time; the seasons are kept when they lower the loss on the validation
block (the data after the training windows, before any test block or backtest origin). The test block and the
backtest's folds are never read, so the scores that follow stay honest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tsrnn.core.errors import DataError
from tsrnn.data.seasons import choice_words, data_seasons
from tsrnn.experiment.pipeline import check_fit, train_experiment, validate

if TYPE_CHECKING:
    from tsrnn.core.config import ModelConfig, TrainConfig
    from tsrnn.data.seriesset import SeriesSet
    from tsrnn.model.train import StopFn
    from tsrnn.timeline.timefreq import Frequency

PROBE_SECONDS = 30.0
"""Each of the two brief trainings runs at most this long ..."""
PROBE_SHARE = 0.06
"""... or this share of a time budget, when that is shorter."""
PROBE_EPOCHS = 30
PROBE_WINDOWS = 2048
"""Training windows per epoch of a brief training (fewer when the data has fewer)."""


@dataclass(frozen=True)
class SeasonChoice:
    """The seasons a model uses and why."""

    seasons: tuple[int, ...]
    candidates: tuple[int, ...] = ()
    """The data's seasons that were tried (or asked for)."""
    how: str = "asked"
    """asked (--seasons LIST or none), validation (the brief trainings decided), short (the data cannot hold the
    seasons' history), seen (every season fits in the input window) or none (the data shows no season)."""
    val_with: float | None = None
    val_without: float | None = None
    """The brief trainings' best validation losses (scaled units), with and without the seasons."""

    def describe(self, freq: Frequency | None = None) -> str:
        """One line for the CLI, the leaderboard's protocol and the TUI (`seasons.choice_words`)."""
        return choice_words(self.to_dict(), freq)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seasons": list(self.seasons), "candidates": list(self.candidates), "how": self.how}
        if self.val_with is not None:
            out["val_loss_with"] = round(self.val_with, 6)
            out["val_loss_without"] = round(self.val_without or 0.0, 6)
        return out


def auto_candidates(data: SeriesSet, input_len: int, horizon: int, spare: int = 0) -> tuple[int, ...]:
    """The frequency's seasons that the data shows (`tsrnn.data.seasons.data_seasons`), less those the data (less
    `spare` rows kept for a backtest) is too short to train with: a model reads its window of `input_len` steps
    and its longest season before it."""
    fit_data = data.drop_last(spare) if spare else data
    return tuple(m for m in data_seasons(data, None) if check_fit(fit_data, input_len + m, horizon) is None)


def beyond(seasons: tuple[int, ...], input_len: int) -> bool:
    """Whether the longest of `seasons` lies beyond a window of `input_len` steps: only then does a seasonal
    profile show the model what its window cannot."""
    return bool(seasons) and max(seasons) > input_len


def probe_seconds(budget_left: float | None) -> float:
    """How long each brief training may run, with `budget_left` seconds of a budget (None: no budget)."""
    if budget_left is None or budget_left == float("inf"):
        return PROBE_SECONDS
    return max(1.0, min(PROBE_SECONDS, PROBE_SHARE * budget_left))


def choose_seasons(
    data: SeriesSet,
    cfg: ModelConfig,
    train_cfg: TrainConfig,
    candidates: tuple[int, ...],
    seconds: float,
    holdout: bool = True,
    should_stop: StopFn | None = None,
) -> SeasonChoice:
    """Train `cfg` without seasons and with `candidates` for at most `seconds` each (the same seed and windows)
    and keep the seasons when their best validation loss is lower. `holdout`: whether the data ends with a test
    block that training leaves out (False for a backtest's data, already cut before its first origin)."""
    if not candidates:
        return SeasonChoice((), (), "none")
    if not beyond(candidates, cfg.input_len):
        return SeasonChoice((), candidates, "seen")
    with_cfg = replace(cfg, seasons=candidates, seasonal_skip=0)
    try:
        validate(data, with_cfg)
    except DataError:
        return SeasonChoice((), candidates, "short")
    brief = replace(
        train_cfg,
        time_limit=seconds,
        epochs=min(train_cfg.epochs, PROBE_EPOCHS),
        windows_per_epoch=min(train_cfg.windows_per_epoch or PROBE_WINDOWS, PROBE_WINDOWS),
    )
    losses = []
    for probe in (replace(cfg, seasons=(), seasonal_skip=0), with_cfg):
        exp = train_experiment(data, probe, brief, holdout=holdout, should_stop=should_stop)
        losses.append(min((e.val_loss for e in exp.result.history), default=float("inf")))
    without, with_ = losses
    return SeasonChoice(candidates if with_ < without else (), candidates, "validation", with_, without)
