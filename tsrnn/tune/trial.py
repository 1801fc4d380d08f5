"""One tuning trial: train its configuration on the data before the first origin, stop it early when its
validation loss lags the trials trained with the same loss (pruning), and score it by MASE on the rolling origins
that `tsrnn compare` uses (`tsrnn.evaluate.backtest.fold_scores`)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from tsrnn.core.config import ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError, DataError, TrainingError
from tsrnn.data.loader import SeriesSet
from tsrnn.evaluate.backtest import Folds, fold_interval_scores, fold_scores, summarise
from tsrnn.experiment.pipeline import train_experiment
from tsrnn.tune.results import Trial

if TYPE_CHECKING:
    import optuna

    from tsrnn.model.train import EpochInfo

PRUNE_WARMUP_EPOCHS = 3
"""A trial is never pruned before this many epochs."""
PRUNE_MIN_TRIALS = 2
"""Pruning starts once this many earlier trials with the same loss have reported."""


def make_pruner(warmup: int = PRUNE_WARMUP_EPOCHS, min_trials: int = PRUNE_MIN_TRIALS) -> optuna.pruners.BasePruner:
    """The median rule among trials trained with the same loss: their validation losses share units (an MSE and
    an MAE do not), so a trial is compared only with those. At epoch s it is pruned when its best validation loss
    so far is above the median of the others' best up to epoch s."""
    # Here, not at the top: Optuna is the optional tune extra, needed only when a search runs.
    import optuna
    from optuna.trial import TrialState

    class SameLossMedianPruner(optuna.pruners.BasePruner):
        def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
            step = trial.last_step
            if step is None or step < warmup:
                return False
            mine = min(v for s, v in trial.intermediate_values.items() if s <= step)
            others = []
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
                if t.number == trial.number or t.params.get("loss") != trial.params.get("loss"):
                    continue
                seen = [v for s, v in t.intermediate_values.items() if s <= step]
                if seen:
                    others.append(min(seen))
            if len(others) < min_trials:
                return False
            return bool(mine > statistics.median(others))

    pruner: optuna.pruners.BasePruner = SameLossMedianPruner()
    return pruner


def epoch_reporter(trial: optuna.Trial, then: Callable[[EpochInfo], None] | None = None) -> Callable[[EpochInfo], None]:
    """fit's on_epoch: report the validation loss to Optuna, and raise optuna.TrialPruned when it says so."""
    # Here, not at the top: Optuna is the optional tune extra, needed only when a search runs.
    import optuna

    def report(info: EpochInfo) -> None:
        if then is not None:
            then(info)
        trial.report(info.val_loss, info.epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"validation loss {info.val_loss:.4g} at epoch {info.epoch}")

    return report


def train_trial(
    study: optuna.Study,
    trial: optuna.Trial,
    record: Trial,
    held_out: SeriesSet,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    season: int,
    folds: Folds,
    on_epoch: Callable[[EpochInfo], None],
    should_stop: Callable[[], bool],
    time_up: Callable[[], bool],
) -> tuple[Any, dict[str, np.ndarray]] | None:
    """Train and score one trial, fill in its record and tell the study how it ended. Returns the trained
    experiment and its fold forecasts when it completed (None when it was pruned, failed or interrupted: a stop
    request or Ctrl+C that cut its training, other than the budget's, leaves it unscored). A configuration that
    cannot train fails alone: the search goes on."""
    # Here, not at the top: Optuna is the optional tune extra, needed only when a search runs.
    import optuna

    try:
        exp = train_experiment(
            held_out,
            model_cfg,
            train_cfg,
            season,
            on_epoch=epoch_reporter(trial, on_epoch),
            should_stop=should_stop,
            holdout=False,
        )
    except optuna.TrialPruned as exc:
        record.state, record.note = "pruned", str(exc)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return None
    except (TrainingError, DataError, ConfigError) as exc:  # this configuration only: the search goes on
        record.state, record.note = "failed", exc.message
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return None
    record.epochs = exp.result.epochs_run
    if exp.result.stopped == "cancelled" and not time_up():  # the run is being stopped: not a complete trial
        record.state = "interrupted"
        record.note = f"stopped during its training, after {record.epochs} epochs, by the interruption; not scored"
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return None
    outputs = fold_outputs(exp, folds)
    record.metrics = score_outputs(folds, outputs, model_cfg, season)
    if exp.result.stopped in ("cancelled", "budget"):
        record.note = f"stopped by the budget after {record.epochs} epochs"
    if not math.isfinite(record.mase):
        record.state, record.note = "failed", "the backtest MASE is not a number"
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return None
    record.state = "complete"
    study.tell(trial, record.mase)
    return exp, outputs


def fold_outputs(exp: Any, folds: Folds) -> dict[str, np.ndarray]:
    """The trial's forecasts of every fold and series, by output name, from the trained torch model."""
    # Here, not at the top: loads torch, which importing the search's records does not.
    import torch

    model = exp.result.model.eval()
    device = next(model.parameters()).device
    args = [torch.from_numpy(folds.history).to(device)]
    if folds.known is not None and model.config.n_known:
        args.append(torch.from_numpy(folds.known).to(device))
    with torch.inference_mode():
        out = model(*args)
    values = out if isinstance(out, tuple) else (out,)
    return {n: v.cpu().numpy() for n, v in zip(model.config.output_names, values, strict=True)}


def score_outputs(folds: Folds, outputs: dict[str, np.ndarray], cfg: ModelConfig, season: int) -> dict[str, float]:
    """The backtest metrics of the fold forecasts: MASE, sMAPE, MAE, RMSE, and coverage and MSIS with quantiles."""
    metrics = summarise(fold_scores(folds, outputs["forecast"], season))
    if "quantiles" in outputs:
        metrics.update(
            summarise(
                fold_interval_scores(folds, outputs["quantiles"], list(cfg.quantiles), season), ("coverage", "msis")
            )
        )
    return metrics
