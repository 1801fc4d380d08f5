"""Tuning's trial loop: ask the study for a configuration, train and score it (`tsrnn.tune.trial`), keep the best
trials for the final exports, and stop when the trials asked for ran, the budget is spent or the run is cancelled.

With a budget, the loop keeps back the time the final exports need (the best model and the ensemble's members),
stops the running trial on time, and starts no trial it expects to cut to less than half a typical one."""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from tsrnn.core.budget import Deadline, format_seconds
from tsrnn.core.config import ModelConfig, TrainConfig
from tsrnn.data.loader import SeriesSet
from tsrnn.evaluate.backtest import Folds
from tsrnn.tune.results import ProgressFn, Trial, TuneProgress
from tsrnn.tune.space import configs, suggest
from tsrnn.tune.trial import train_trial

if TYPE_CHECKING:
    import optuna

    from tsrnn.model.train import EpochInfo

EXPORT_BASE_S = 0.5
EXPORT_STEP_S = 0.01
"""Export time of one model, with its parity check: EXPORT_BASE_S + EXPORT_STEP_S per step of the window, per
layer and direction (its unrolled graph has nodes per step). Measured on 2 cores: 0.2 s for a GRU 1x32 with
26 steps, 2.4 s for a bidirectional LSTM 3x128 with 52 and 8.4 s with 156."""
RESERVE_SAFETY = 1.5
"""A budget keeps back this many times the expected export time of the files written at the end (the best
model and the ensemble's members), plus a second for the tables."""


def export_seconds(cfg: ModelConfig) -> float:
    """The expected seconds of one model's export (EXPORT_STEP_S)."""
    return EXPORT_BASE_S + EXPORT_STEP_S * cfg.input_len * cfg.num_layers * (2 if cfg.bidirectional else 1)


@dataclass
class TrialLoop:
    """One search's trials: what it needs to run them, the records so far and the best trials kept."""

    study: optuna.Study
    held_out: SeriesSet
    """The data before the first forecast origin: every trial trains on it."""
    base: ModelConfig
    train_cfg: TrainConfig
    season: int
    names: list[str]
    windows: list[int]
    fold_sets: dict[int, Folds]
    """The rolling origins of each searched window."""
    trials: int | None
    deadline: Deadline
    ensemble: int
    on_progress: ProgressFn | None = None
    should_stop: Callable[[], bool] | None = None
    on_trial_end: Callable[[], object] | None = None
    """Called after each trial ends (tune writes its trials table there, as the search goes on)."""
    records: list[Trial] = field(default_factory=list)
    kept: dict[int, Any] = field(default_factory=dict)
    """The best trials so far (as many as the ensemble needs, at least one): their `ensemble.Member`."""
    reserve: float = 0.0
    """Seconds of the budget kept back for the final exports."""
    stopped: str = "trials"
    """trials (all asked for ran), budget or cancelled."""
    estimate: str | None = None
    seasons: tuple[int, ...] = ()
    """The data's seasons, searched on and off with the windows `with_seasons`."""
    with_seasons: list[int] = field(default_factory=list)

    @property
    def keep(self) -> int:
        return max(self.ensemble, 1)

    def run(self) -> None:
        """Run trials until the trials asked for ran, the budget is spent or the run is cancelled."""
        while self.trials is None or len(self.records) < self.trials:
            if self.cancelled():
                self.stopped = "cancelled"
                break
            if self.no_time_for_another():
                self.stopped = "budget"
                break
            self.run_trial()
            if self.on_trial_end is not None:
                self.on_trial_end()
            if self.records[-1].state == "interrupted":  # Ctrl+C inside the training, should_stop or not
                self.stopped = "cancelled"
                break
            if self.time_up():
                self.stopped = "budget"
                break
        if self.cancelled():
            self.stopped = "cancelled"

    def run_trial(self) -> None:
        """Ask the study for a configuration, train and score it, keep it if it is among the best."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = self.study.ask()
            params = suggest(trial, self.names, self.windows, self.season, self.seasons, self.with_seasons)
        record = Trial(trial.number + 1, params)
        self.records.append(record)
        self.emit(record)
        model_cfg, tcfg = configs(params, self.base, self.train_cfg)
        self.reserve = self.reserve_for(model_cfg)
        if self.deadline.limited:  # the running trial ends on time, within its epoch
            tcfg = replace(tcfg, time_limit=max(0.1, self.deadline.remaining() - self.reserve))
        t0 = time.perf_counter()
        trained = train_trial(
            self.study,
            trial,
            record,
            self.held_out,
            model_cfg,
            tcfg,
            self.season,
            self.fold_sets[model_cfg.history_len],
            partial(self.on_epoch, record),
            self.stop_now,
            self.time_up,
        )
        if trained is not None:
            self.keep_best(record, *trained)
        record.seconds = time.perf_counter() - t0
        if len(self.records) == 1:
            self.estimate = estimate_words(record.seconds, self.trials, self.deadline, self.reserve)
        self.emit(record)

    def keep_best(self, record: Trial, exp: Any, outputs: dict[str, np.ndarray]) -> None:
        """Keep a completed trial as an ensemble member while it is among the best `keep`."""
        # Here, not at the top: loads ONNX Runtime and torch, which importing this module does not.
        import tsrnn.compare.ensemble as ens

        self.kept[record.number] = ens.Member(
            f"trial {record.number}",
            exp,
            outputs,
            record.metrics,
            exp.result.seconds,
            record.epochs,
            {"trial": record.number, "variant": record.params["variant"]},
        )
        for m in ens.top(list(self.kept.values()), len(self.kept))[self.keep :]:
            del self.kept[m.settings["trial"]]

    def reserve_for(self, candidate: ModelConfig | None = None) -> float:
        """Seconds to keep back for the final exports: the best model and the ensemble's members so far, as if
        `candidate` (the trial about to run) joined them."""
        # Here, not at the top: loads ONNX Runtime and torch, which importing this module does not.
        import tsrnn.compare.ensemble as ens

        if not self.deadline.limited:
            return 0.0
        costs = sorted(
            (export_seconds(m.experiment.model_cfg) for m in ens.top(list(self.kept.values()), self.keep)),
            reverse=True,
        )
        if candidate is not None:
            costs = sorted([*costs, export_seconds(candidate)], reverse=True)
        costs = costs[: self.keep] or [EXPORT_BASE_S + 100 * EXPORT_STEP_S]
        files = costs[0] + (sum(costs) if self.ensemble else 0.0)
        return RESERVE_SAFETY * files + 1.0

    def no_time_for_another(self) -> bool:
        """Renew the reserve; with a budget, whether what is left of it is under half a typical trial."""
        self.reserve = self.reserve_for()
        if not (self.records and self.deadline.limited):
            return False
        typical = statistics.median(t.seconds for t in self.records)
        return self.deadline.remaining() - self.reserve < 0.5 * typical

    def emit(self, trial: Trial, epoch: Any = None) -> None:
        if self.on_progress:
            self.on_progress(
                TuneProgress(
                    trial,
                    sum(t.state != "running" for t in self.records),
                    self.trials,
                    self.deadline.elapsed(),
                    self.deadline.remaining(),
                    epoch,
                    self.estimate,
                )
            )

    def on_epoch(self, record: Trial, info: EpochInfo) -> None:
        record.epochs = info.epoch
        self.emit(record, info)

    def cancelled(self) -> bool:
        return bool(self.should_stop and self.should_stop())

    def time_up(self) -> bool:
        return self.deadline.limited and self.deadline.remaining() <= self.reserve

    def stop_now(self) -> bool:
        return self.cancelled() or self.time_up()


def estimate_words(first: float, trials: int | None, deadline: Deadline, reserve: float) -> str:
    """After the first trial: how many trials the budget holds, or how long the others will take."""
    if deadline.limited:
        fits = int((deadline.remaining() - reserve) // max(first, 1e-3)) + 1
        many = fits if trials is None else min(fits, trials)
        return (
            f"the first trial took {format_seconds(first)}: about {many} trial{'s' if many != 1 else ''} fit in "
            f"the budget (pruned trials are shorter)"
        )
    assert trials is not None
    return (
        f"the first trial took {format_seconds(first)}: about {format_seconds(first * (trials - 1))} more for "
        f"the other {trials - 1} (pruned trials are shorter)"
    )
