"""Tuning: search the network and its training settings with Optuna, scored by compare's backtest, in a budget.

Every trial trains one configuration on the data before the first forecast origin (early stopping on the
validation block at the end of that data, as compare does) and is scored by MASE on the same rolling origins
as `tsrnn compare` (`tsrnn.evaluate.backtest.make_folds`, `fold_scores`). The sampler is Optuna's TPE, seeded, so the
same seed on the same data repeats the same trials. A trial whose validation loss, epoch by epoch, is worse than the
median of the earlier trials trained with the same loss at the same epoch is pruned (stopped early).

The search space: cell and direction (restricted by `variants`), layers 1-3, hidden size 16/32/64/128, input
window (multiples of the horizon and of the season that the data can serve), learning rate (log, 1e-4..1e-2),
dropout 0..0.3 (only with more than one layer), weight decay (off, or log 1e-6..1e-3) and the loss (mse, mae,
huber). Each value maps to a `tsrnn train` option, so the best trial is written out as a command line.

This module runs a search from start to end; its parts: `tsrnn.tune.space` (the search space),
`tsrnn.tune.trial` (training, pruning and scoring one trial), `tsrnn.tune.loop` (the trials under a budget),
`tsrnn.tune.command` (the best trial's command line) and `tsrnn.tune.results` (the records and their tables).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsrnn.core.budget import Deadline
from tsrnn.core.config import ModelConfig
from tsrnn.core.errors import ConfigError
from tsrnn.core.paths import free_path, tune_dir
from tsrnn.evaluate.backtest import Folds, baseline_forecasts, fold_scores, make_folds, summarise
from tsrnn.evaluate.protocol import Protocol
from tsrnn.tune.command import train_command
from tsrnn.tune.loop import TrialLoop
from tsrnn.tune.request import TuneRequest
from tsrnn.tune.results import ProgressFn, clear_results, interrupted_words, write_tables
from tsrnn.tune.results import Trial as Trial
from tsrnn.tune.results import TuneProgress as TuneProgress
from tsrnn.tune.results import TuneResult as TuneResult
from tsrnn.tune.results import format_text as format_text
from tsrnn.tune.space import search_space, season_windows
from tsrnn.tune.space import tune_variants as tune_variants
from tsrnn.tune.space import window_choices as window_choices
from tsrnn.tune.trial import PRUNE_MIN_TRIALS, PRUNE_WARMUP_EPOCHS
from tsrnn.tune.trial import epoch_reporter as epoch_reporter
from tsrnn.tune.trial import make_pruner as make_pruner

if TYPE_CHECKING:
    import optuna

DEFAULT_TRIALS = 20
"""Trials when neither --trials nor --budget is given."""
STARTUP_TRIALS = 5
"""Trials sampled at random before TPE models the results (fewer when fewer trials are asked for)."""


def run_tune(
    request: TuneRequest,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TuneResult:
    """Search the configurations of `request` until `trials` ran or the budget is spent (stopping the running trial
    on time), then write the trials table, the best command line, the best model and, with `ensemble` >= 2, the
    ensemble of the best `ensemble` trials. `input_len` fixes the window instead of searching it. `seasons` (the
    data's, or those asked for) are searched on and off, with the windows that leave the data room for them.

    The trials table is also written after each trial (marked 'in progress'). A stop request (`should_stop`,
    checked at every optimiser step) or Ctrl+C inside a training ends the search: the trial it cut is listed as
    interrupted and not scored, the best complete trial is exported, no ensemble is built, and the tables and
    the model's metadata say 'interrupted after N of M trials'."""
    # Here, not at the top: Optuna is the optional tune extra, needed only when a search runs.
    import optuna

    data, base, train_cfg, folds = request.data, request.base, request.train_cfg, request.folds
    trials, ensemble, ensemble_method = request.trials, request.ensemble, request.ensemble_method
    _check(base, trials, ensemble, ensemble_method)
    budget = request.budget
    deadline = budget if isinstance(budget, Deadline) else Deadline(budget)
    if trials is None and not deadline.limited:
        trials = DEFAULT_TRIALS
    user_season, season = request.season, request.season or data.freq.season
    out_dir = request.out_dir or free_path(tune_dir(data.path.stem))  # an earlier search's folder is kept
    H = base.horizon
    names = tune_variants(request.variants)
    windows = [request.input_len] if request.input_len else window_choices(data, H, season, folds)
    seasons = request.seasons
    with_seasons = season_windows(data, windows, H, seasons, folds)
    fold_sets: dict[int, Folds] = {L: make_folds(data, L, H, folds) for L in windows}
    fold_sets |= {L + seasons[-1]: make_folds(data, L + seasons[-1], H, folds) for L in with_seasons}
    held_out = data.drop_last(folds * H)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    startup = STARTUP_TRIALS if trials is None else max(2, min(STARTUP_TRIALS, trials // 3))
    protocol = _protocol(request, deadline, season, names, windows, trials, startup)
    protocol = replace(protocol, search=search_space(names, windows, season, seasons if with_seasons else ()))
    baselines = _baselines(fold_sets[windows[0]], season)
    loop = TrialLoop(
        _study(train_cfg.seed, startup),
        held_out,
        base,
        train_cfg,
        season,
        names,
        windows,
        fold_sets,
        trials,
        deadline,
        ensemble,
        on_progress,
        should_stop,
        lambda: write_tables(
            TuneResult(loop.records, protocol, None, "", baselines, deadline.elapsed(), "running"), out_dir
        ),
    )
    loop.seasons, loop.with_seasons = seasons, with_seasons
    clear_results(out_dir)  # the best model and command of an earlier search: the new table does not list them
    loop.run()

    complete = [t for t in loop.records if t.state == "complete"]
    best = min(complete, key=lambda t: t.mase) if complete else None
    if loop.stopped == "cancelled":
        lost = ["no ensemble was built"] if ensemble else []
        words = interrupted_words(loop.records, trials, deadline.elapsed(), deadline.seconds, lost)
        protocol = replace(protocol, interrupted=words)
    result = TuneResult(loop.records, protocol, best, "", baselines, 0.0, loop.stopped)
    if best is not None:
        result.command = train_command(
            request.data_arg or str(data.path), data, best.params, base, train_cfg, user_season
        )
        result.best_path = _export_best(loop.kept[best.number], best, protocol, out_dir)
    if ensemble and loop.stopped == "cancelled":
        result.ensemble = {"members": [], "method": ensemble_method, "metrics": {}, "path": None}
        result.ensemble["note"] = "not built: the search was interrupted"
    elif ensemble:
        result.ensemble = _export_ensemble(loop.kept, ensemble, ensemble_method, fold_sets, season, protocol, out_dir)
    result.seconds = deadline.elapsed()
    result.files = write_tables(result, out_dir)
    return result


def _check(base: ModelConfig, trials: int | None, ensemble: int, method: str) -> None:
    """Refuse what tune cannot run before any training."""
    # Here, not at the top: loads ONNX Runtime and torch, which importing this module does not.
    from tsrnn.compare.ensemble import check_ensemble

    if base.task != "forecast":
        raise ConfigError("tune searches forecasting models; the direction task is not tuned")
    if trials is not None and trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {trials}")
    check_ensemble(ensemble, method, trials)


def _study(seed: int, startup: int) -> optuna.Study:
    """A study minimising the backtest MASE: TPE, seeded, after `startup` random trials; pruned by the loss."""
    # Here, not at the top: Optuna is the optional tune extra, needed only when a search runs.
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # multivariate/group TPE is marked experimental in older Optuna
        sampler = optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=startup,
            multivariate=True,
            group=True,
            warn_independent_sampling=False,
        )
    return optuna.create_study(direction="minimize", sampler=sampler, pruner=make_pruner())


def _baselines(folds: Folds, season: int) -> dict[str, dict[str, float]]:
    """The baselines' scores on the same folds."""
    return {name: summarise(fold_scores(folds, fc, season)) for name, fc in baseline_forecasts(folds, season).items()}


def _export_best(member: Any, best: Trial, protocol: Protocol, out_dir: Path) -> str:
    """best.onnx: the best trial's backtest model, with its backtest in the file."""
    member.experiment.backtest = {
        "protocol": protocol.as_dict(),
        "metrics": best.metrics,
        "trial": best.number,
        "params": best.params,
    }
    return str(member.experiment.export(out_dir / "best.onnx").path)


def _export_ensemble(
    kept: dict[int, Any],
    ensemble: int,
    method: str,
    fold_sets: dict[int, Folds],
    season: int,
    protocol: Protocol,
    out_dir: Path,
) -> dict[str, Any]:
    """ensemble.onnx: the best `ensemble` trials combined and scored on the folds of the longest window, or a
    note that too few trials completed."""
    # Here, not at the top: loads ONNX Runtime and torch, which importing this module does not.
    import tsrnn.compare.ensemble as ens

    if len(kept) < ensemble:
        return {
            "members": [],
            "method": method,
            "metrics": {},
            "path": None,
            "note": f"not built: {len(kept)} of the {ensemble} trials it needs completed",
        }
    members = ens.top(list(kept.values()), ensemble)
    longest = max(m.experiment.model_cfg.history_len for m in members)
    metrics = ens.score(members, method, fold_sets[longest], season)
    backtest = {"protocol": protocol.as_dict(), "metrics": metrics}
    path = ens.export(members, method, out_dir / "ensemble.onnx", backtest).path
    return {
        "members": [m.settings["trial"] for m in members],
        "method": method,
        "metrics": metrics,
        "path": str(path),
    }


def _protocol(
    request: TuneRequest,
    deadline: Deadline,
    season: int,
    names: list[str],
    windows: list[int],
    trials: int | None,
    startup: int,
) -> Protocol:
    """How the search ran, as the tables and the model files record it."""
    base, train_cfg, folds = request.base, request.train_cfg, request.folds
    return Protocol.of(
        "tune",
        request.data,
        base,
        train_cfg,
        season,
        folds,
        training=(
            f"each trial once, on the data before the first origin (the last {folds} x {base.horizon} "
            "steps held out), early stopping on a validation block at its end"
        ),
        search=search_space(names, windows, season),
        sampler=f"TPE, seed {train_cfg.seed}, {startup} random trials first",
        pruner=(
            f"median of the trials with the same loss at the same epoch, from epoch {PRUNE_WARMUP_EPOCHS} "
            f"and {PRUNE_MIN_TRIALS} such trials"
        ),
        trials=trials,
        budget_s=deadline.seconds,
        ensemble=request.ensemble,
        ensemble_method=request.ensemble_method,
    )
