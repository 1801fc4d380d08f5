"""Tuning: search the network and its training settings with Optuna, scored by compare's backtest, in a budget.

Every trial trains one configuration on the data before the first forecast origin (early stopping on the
validation block at the end of that data, as compare does) and is scored by MASE on the same rolling origins
as `tsrnn compare` (`tsrnn.backtest.make_folds`, `fold_scores`). The sampler is Optuna's TPE, seeded, so the same
seed on the same data repeats the same trials. A trial whose validation loss, epoch by epoch, is worse than the
median of the earlier trials trained with the same loss at the same epoch is pruned (stopped early).

The search space: cell and direction (restricted by `variants`), layers 1-3, hidden size 16/32/64/128, input
window (multiples of the horizon and of the season that the data can serve), learning rate (log, 1e-4..1e-2),
dropout 0..0.3 (only with more than one layer), weight decay (off, or log 1e-6..1e-3) and the loss (mse, mae,
huber). Each value maps to a `tsrnn train` option, so the best trial is written out as a command line.
"""

from __future__ import annotations

import json
import logging
import math
import shlex
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .backtest import Folds, baseline_forecasts, fold_interval_scores, fold_scores, make_folds, summarise
from .budget import Deadline, format_seconds
from .config import LOSSES, VARIANT_SPEC, ModelConfig, TrainConfig
from .csvio import atomic_write
from .data import SeriesSet
from .errors import ConfigError, DataError, TrainingError
from .pipeline import EXPORT_DIR, check_fit, default_input_len, train_experiment

if TYPE_CHECKING:
    import optuna

    from .train import EpochInfo

TUNE_VARIANTS = "rnn,gru,lstm,birnn,bigru,bilstm"
"""Cells and directions searched when --variants is not given."""
HIDDEN_SIZES = (16, 32, 64, 128)
MAX_LAYERS = 3
LR_RANGE = (1e-4, 1e-2)
DROPOUT_MAX = 0.3
WEIGHT_DECAY_RANGE = (1e-6, 1e-3)
DEFAULT_TRIALS = 20
"""Trials when neither --trials nor --budget is given."""
STARTUP_TRIALS = 5
"""Trials sampled at random before TPE models the results (fewer when fewer trials are asked for)."""
PRUNE_WARMUP_EPOCHS = 3
"""A trial is never pruned before this many epochs."""
PRUNE_MIN_TRIALS = 2
"""Pruning starts once this many earlier trials with the same loss have reported."""
EXPORT_BASE_S = 0.5
EXPORT_STEP_S = 0.01
"""Export time of one model, with its parity check: EXPORT_BASE_S + EXPORT_STEP_S per step of the window, per
layer and direction (its unrolled graph has nodes per step). Measured on 2 cores: 0.2 s for a GRU 1x32 with
26 steps, 2.4 s for a bidirectional LSTM 3x128 with 52 and 8.4 s with 156."""
RESERVE_SAFETY = 1.5
"""A budget keeps back this many times the expected export time of the files written at the end (the best
model and the ensemble's members), plus a second for the tables."""


@dataclass
class Trial:
    """One tuning trial: what it tried and how it scored."""

    number: int
    params: dict[str, Any]
    state: str = "running"
    """complete, pruned or failed."""
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    epochs: int = 0
    note: str = ""
    """Why it ended as it did, when that is not the obvious (cut by the budget, cancelled, the error)."""

    @property
    def mase(self) -> float:
        return float(self.metrics.get("mase", math.nan))

    def describe(self) -> str:
        """'bigru 2x64, window 24, lr 0.0012, dropout 0.1, wd 1e-05, huber'."""
        p = self.params
        parts = [f"{p['variant']} {p['layers']}x{p['hidden']}", f"window {p['input_len']}", f"lr {p['lr']:g}"]
        if p["dropout"]:
            parts.append(f"dropout {p['dropout']:g}")
        if p["weight_decay"]:
            parts.append(f"wd {p['weight_decay']:g}")
        parts.append(p["loss"])
        return ", ".join(parts)

    def to_row(self) -> dict[str, Any]:
        m = self.metrics
        return {
            "trial": self.number,
            "state": self.state,
            **self.params,
            **{k: m.get(k) for k in ("mase", "mase_std", "smape", "mae", "rmse")},
            "epochs": self.epochs,
            "seconds": round(self.seconds, 2),
            "note": self.note,
        }


@dataclass
class TuneProgress:
    """Sent when a trial starts (trial.state 'running'), after each of its epochs (epoch set) and when it ends."""

    trial: Trial
    done: int
    """Trials ended so far."""
    total: int | None
    """Trials asked for (None: as many as the budget allows)."""
    elapsed: float
    remaining: float
    """Seconds left in the budget (infinity without one)."""
    epoch: EpochInfo | None = None
    estimate: str | None = None
    """After the first trial: how many trials the budget holds, or how long the rest will take."""

    @property
    def ended(self) -> bool:
        return self.trial.state != "running" and self.epoch is None


ProgressFn = Callable[[TuneProgress], None]


@dataclass
class TuneResult:
    trials: list[Trial]
    protocol: dict[str, Any]
    best: Trial | None
    command: str
    """The best configuration as a `tsrnn train` command line ('' when no trial completed)."""
    baselines: dict[str, dict[str, float]]
    seconds: float
    stopped: str
    """trials (all asked for ran), budget or cancelled."""
    best_path: str | None = None
    ensemble: dict[str, Any] | None = None
    """{"members": trial numbers, "method", "metrics", "path"} when an ensemble was built."""
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "best": self.best.to_row() if self.best else None,
            "command": self.command,
            "best_path": self.best_path,
            "ensemble": self.ensemble,
            "baselines": self.baselines,
            "seconds": round(self.seconds, 2),
            "stopped": self.stopped,
            "files": self.files,
            "trials": [t.to_row() for t in self.trials],
        }


# --- the search space ---------------------------------------------------------------------------------------


def tune_variants(text: str | None) -> list[str]:
    """'gru,bilstm' -> the cells and directions searched ('bigru' ...); a layer suffix is dropped (tune searches
    the layers itself)."""
    out: list[str] = []
    for token in (t.strip().lower() for t in (text or TUNE_VARIANTS).split(",") if t.strip()):
        m = VARIANT_SPEC.match(token)
        if not m:
            raise ConfigError(f"unknown variant '{token}': write [bi]rnn|gru|lstm, e.g. gru, bilstm")
        name = f"{m.group(1) or ''}{m.group(2)}"
        if name not in out:
            out.append(name)
    if not out:
        raise ConfigError("--variants is empty: give at least one, e.g. gru,lstm")
    return out


def window_choices(data: SeriesSet, horizon: int, season: int, folds: int) -> list[int]:
    """Input windows searched: 1-4 horizons, 1-3 seasons and the default window, those the data can serve with
    this many folds."""
    held_out = data.drop_last(folds * horizon)
    wanted = {horizon * k for k in range(1, 5)} | {default_input_len(data, horizon)}
    if season > 1:
        wanted |= {season * k for k in range(1, 4)}
    out = []
    for L in sorted(x for x in wanted if x >= 2):
        try:
            make_folds(data, L, horizon, folds)
        except DataError:
            continue
        if check_fit(held_out, L, horizon) is None:
            out.append(L)
    if not out:
        raise DataError(
            f"{data.path.name}: no input window of one or more horizons ({horizon} steps) fits "
            f"{folds} folds of this data; use fewer --folds or a shorter --horizon"
        )
    return out


def suggest(trial: optuna.Trial, variants: list[str], windows: list[int]) -> dict[str, Any]:
    """One configuration from the search space; the values are rounded as they are written on a command line."""
    variant = trial.suggest_categorical("variant", variants)
    layers = trial.suggest_int("layers", 1, MAX_LAYERS)
    hidden = trial.suggest_categorical("hidden", list(HIDDEN_SIZES))
    input_len = trial.suggest_categorical("input_len", windows)
    lr = float(f"{trial.suggest_float('lr', *LR_RANGE, log=True):.3g}")
    dropout = trial.suggest_float("dropout", 0.0, DROPOUT_MAX, step=0.05) if layers > 1 else 0.0
    decay = 0.0
    if trial.suggest_categorical("weight_decay_on", [False, True]):
        decay = float(f"{trial.suggest_float('weight_decay', *WEIGHT_DECAY_RANGE, log=True):.2g}")
    loss = trial.suggest_categorical("loss", list(LOSSES))
    return {
        "variant": variant,
        "layers": layers,
        "hidden": hidden,
        "input_len": input_len,
        "lr": lr,
        "dropout": round(dropout, 2),
        "weight_decay": decay,
        "loss": loss,
    }


def configs(params: dict[str, Any], base: ModelConfig, train_cfg: TrainConfig) -> tuple[ModelConfig, TrainConfig]:
    m = VARIANT_SPEC.match(params["variant"])
    assert m is not None
    model_cfg = replace(
        base,
        cell=m.group(2),
        bidirectional=bool(m.group(1)),
        num_layers=params["layers"],
        hidden_size=params["hidden"],
        input_len=params["input_len"],
        dropout=params["dropout"],
    )
    return model_cfg, replace(train_cfg, lr=params["lr"], weight_decay=params["weight_decay"], loss=params["loss"])


# --- pruning --------------------------------------------------------------------------------------------------


def make_pruner(warmup: int = PRUNE_WARMUP_EPOCHS, min_trials: int = PRUNE_MIN_TRIALS) -> optuna.pruners.BasePruner:
    """The median rule among trials trained with the same loss: their validation losses share units (an MSE and
    an MAE do not), so a trial is compared only with those. At epoch s it is pruned when its best validation loss
    so far is above the median of the others' best up to epoch s."""
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
    import optuna

    def report(info: EpochInfo) -> None:
        if then is not None:
            then(info)
        trial.report(info.val_loss, info.epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"validation loss {info.val_loss:.4g} at epoch {info.epoch}")

    return report


# --- running ----------------------------------------------------------------------------------------------------


def run_tune(
    data: SeriesSet,
    base: ModelConfig,
    train_cfg: TrainConfig,
    *,
    trials: int | None = None,
    budget: float | Deadline | None = None,
    variants: str | None = None,
    folds: int = 3,
    ensemble: int = 0,
    ensemble_method: str = "mean",
    season: int | None = None,
    out_dir: Path | None = None,
    data_arg: str | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    input_len: int | None = None,
) -> TuneResult:
    """Search configurations until `trials` ran or the budget is spent (stopping the running trial on time),
    then write the trials table, the best command line, the best model and, with `ensemble` >= 2, the ensemble of
    the best `ensemble` trials. `input_len` fixes the window instead of searching it."""
    import optuna

    from . import ensemble as ens

    if base.task != "forecast":
        raise ConfigError("tune searches forecasting models; the direction task is not tuned")
    if trials is not None and trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {trials}")
    ens.check_ensemble(ensemble, ensemble_method, trials)
    deadline = budget if isinstance(budget, Deadline) else Deadline(budget)
    if trials is None and not deadline.limited:
        trials = DEFAULT_TRIALS
    user_season, season = season, season or data.freq.season
    out_dir = out_dir or EXPORT_DIR / f"tune_{data.path.stem}"
    H = base.horizon
    names = tune_variants(variants)
    windows = [input_len] if input_len else window_choices(data, H, season, folds)
    fold_sets: dict[int, Folds] = {L: make_folds(data, L, H, folds) for L in windows}
    held_out = data.drop_last(folds * H)
    reserve = 0.0

    def reserve_for(candidate: ModelConfig | None = None) -> float:
        """Seconds to keep back for the final exports: the best model and the ensemble's members so far, as if
        `candidate` (the trial about to run) joined them."""
        if not deadline.limited:
            return 0.0
        costs = sorted(
            (export_seconds(m.experiment.model_cfg) for m in ens.top(list(kept.values()), keep)), reverse=True
        )
        if candidate is not None:
            costs = sorted([*costs, export_seconds(candidate)], reverse=True)
        costs = costs[:keep] or [EXPORT_BASE_S + 100 * EXPORT_STEP_S]
        files = costs[0] + (sum(costs) if ensemble else 0.0)
        return RESERVE_SAFETY * files + 1.0

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    startup = STARTUP_TRIALS if trials is None else max(2, min(STARTUP_TRIALS, trials // 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # multivariate/group TPE is marked experimental in older Optuna
        sampler = optuna.samplers.TPESampler(
            seed=train_cfg.seed,
            n_startup_trials=startup,
            multivariate=True,
            group=True,
            warn_independent_sampling=False,
        )
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=make_pruner())

    records: list[Trial] = []
    kept: dict[int, Any] = {}
    """The best trials so far (as many as the ensemble needs, at least one): their `ensemble.Member`."""
    keep = max(ensemble, 1)
    stopped = "trials"
    estimate: str | None = None

    def emit(trial: Trial, epoch: Any = None) -> None:
        if on_progress:
            on_progress(
                TuneProgress(
                    trial,
                    sum(t.state != "running" for t in records),
                    trials,
                    deadline.elapsed(),
                    deadline.remaining(),
                    epoch,
                    estimate,
                )
            )

    def time_up() -> bool:
        return deadline.limited and deadline.remaining() <= reserve

    def stop_now() -> bool:
        return bool(should_stop and should_stop()) or time_up()

    while trials is None or len(records) < trials:
        if should_stop and should_stop():
            stopped = "cancelled"
            break
        reserve = reserve_for()
        if records and deadline.limited:
            typical = statistics.median(t.seconds for t in records)
            if deadline.remaining() - reserve < 0.5 * typical:
                stopped = "budget"
                break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = study.ask()
            params = suggest(trial, names, windows)
        record = Trial(trial.number + 1, params)
        records.append(record)
        emit(record)
        model_cfg, tcfg = configs(params, base, train_cfg)
        reserve = reserve_for(model_cfg)
        if deadline.limited:  # the running trial ends on time, within its epoch
            tcfg = replace(tcfg, time_limit=max(0.1, deadline.remaining() - reserve))
        t0 = time.perf_counter()
        try:
            exp = train_experiment(
                held_out,
                model_cfg,
                tcfg,
                season,
                on_epoch=epoch_reporter(trial, partial(_epoch, record, emit)),
                should_stop=stop_now,
                holdout=False,
            )
        except optuna.TrialPruned as exc:
            record.state, record.note = "pruned", str(exc)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        except (TrainingError, DataError, ConfigError) as exc:  # this configuration only: the search goes on
            record.state, record.note = "failed", exc.message
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            folds_l = fold_sets[model_cfg.input_len]
            outputs = _fold_outputs(exp, folds_l)
            record.metrics = _scores(folds_l, outputs, model_cfg, season)
            record.epochs = exp.result.epochs_run
            if exp.result.stopped in ("cancelled", "budget"):
                record.note = (
                    f"stopped by the budget after {record.epochs} epochs"
                    if time_up() or exp.result.stopped == "budget"
                    else f"cancelled after {record.epochs} epochs"
                )
            if math.isfinite(record.mase):
                record.state = "complete"
                study.tell(trial, record.mase)
                kept[record.number] = ens.Member(
                    f"trial {record.number}",
                    exp,
                    outputs,
                    record.metrics,
                    exp.result.seconds,
                    record.epochs,
                    {"trial": record.number, "variant": params["variant"]},
                )
                for m in ens.top(list(kept.values()), len(kept))[keep:]:
                    del kept[m.settings["trial"]]
            else:
                record.state, record.note = "failed", "the backtest MASE is not a number"
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        record.seconds = time.perf_counter() - t0
        if len(records) == 1:
            estimate = _estimate(record.seconds, trials, deadline, reserve)
        emit(record)
        if time_up():
            stopped = "budget"
            break
    if should_stop and should_stop():
        stopped = "cancelled"

    complete = [t for t in records if t.state == "complete"]
    best = min(complete, key=lambda t: t.mase) if complete else None
    any_folds = fold_sets[windows[0]]
    baselines = {
        name: summarise(fold_scores(any_folds, fc, season))
        for name, fc in baseline_forecasts(any_folds, season).items()
    }
    protocol = _protocol(
        data, base, train_cfg, season, folds, names, windows, trials, deadline, ensemble, ensemble_method, startup
    )
    result = TuneResult(records, protocol, best, "", baselines, 0.0, stopped)
    if best is not None:
        result.command = train_command(data_arg or str(data.path), data, best.params, base, train_cfg, user_season)
        member = kept[best.number]
        member.experiment.backtest = {
            "protocol": protocol,
            "metrics": best.metrics,
            "trial": best.number,
            "params": best.params,
        }
        result.best_path = str(member.experiment.export(out_dir / "best.onnx").path)
    if ensemble and len(kept) >= ensemble:
        members = ens.top(list(kept.values()), ensemble)
        longest = max(m.experiment.model_cfg.input_len for m in members)
        metrics = ens.score(members, ensemble_method, fold_sets[longest], season)
        backtest = {"protocol": protocol, "metrics": metrics}
        path = ens.export(members, ensemble_method, out_dir / "ensemble.onnx", backtest).path
        result.ensemble = {
            "members": [m.settings["trial"] for m in members],
            "method": ensemble_method,
            "metrics": metrics,
            "path": str(path),
        }
    elif ensemble:
        result.ensemble = {
            "members": [],
            "method": ensemble_method,
            "metrics": {},
            "path": None,
            "note": f"not built: {len(kept)} of the {ensemble} trials it needs completed",
        }
    result.seconds = deadline.elapsed()
    result.files = write_tables(result, out_dir)
    return result


def export_seconds(cfg: ModelConfig) -> float:
    """The expected seconds of one model's export (EXPORT_STEP_S)."""
    return EXPORT_BASE_S + EXPORT_STEP_S * cfg.input_len * cfg.num_layers * (2 if cfg.bidirectional else 1)


def _epoch(record: Trial, emit: Callable[[Trial, Any], None], info: EpochInfo) -> None:
    record.epochs = info.epoch
    emit(record, info)


def _fold_outputs(exp: Any, folds: Folds) -> dict[str, np.ndarray]:
    """The trial's forecasts of every fold and series, by output name, from the trained torch model."""
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


def _scores(folds: Folds, outputs: dict[str, np.ndarray], cfg: ModelConfig, season: int) -> dict[str, float]:
    metrics = summarise(fold_scores(folds, outputs["forecast"], season))
    if "quantiles" in outputs:
        metrics.update(
            summarise(
                fold_interval_scores(folds, outputs["quantiles"], list(cfg.quantiles), season), ("coverage", "msis")
            )
        )
    return metrics


def _estimate(first: float, trials: int | None, deadline: Deadline, reserve: float) -> str:
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


def _protocol(
    data: SeriesSet,
    base: ModelConfig,
    train_cfg: TrainConfig,
    season: int,
    folds: int,
    names: list[str],
    windows: list[int],
    trials: int | None,
    deadline: Deadline,
    ensemble: int,
    method: str,
    startup: int,
) -> dict[str, Any]:
    return {
        "data": data.path.name,
        "series": data.n_series,
        "frequency": data.freq.label,
        "season": season,
        "horizon": base.horizon,
        "folds": folds,
        "scaling": base.scaling,
        "quantiles": list(base.quantiles),
        "training": (
            f"each trial once, on the data before the first origin (the last {folds} x {base.horizon} "
            "steps held out), early stopping on a validation block at its end"
        ),
        "search": {
            "variants": names,
            "layers": [1, MAX_LAYERS],
            "hidden": list(HIDDEN_SIZES),
            "input_len": windows,
            "lr": list(LR_RANGE),
            "dropout": [0.0, DROPOUT_MAX],
            "weight_decay": [0.0, *WEIGHT_DECAY_RANGE],
            "loss": list(LOSSES),
        },
        "sampler": f"TPE, seed {train_cfg.seed}, {startup} random trials first",
        "pruner": (
            f"median of the trials with the same loss at the same epoch, from epoch {PRUNE_WARMUP_EPOCHS} "
            f"and {PRUNE_MIN_TRIALS} such trials"
        ),
        "trials": trials,
        "budget_s": deadline.seconds,
        "epochs": train_cfg.epochs,
        "patience": train_cfg.patience,
        "batch_size": train_cfg.batch_size,
        "seed": train_cfg.seed,
        "ensemble": ensemble,
        "ensemble_method": method,
        "calendar": data.known_spec.describe(),
    }


# --- the command line of the best trial -----------------------------------------------------------------------


def data_options(data: SeriesSet) -> list[str]:
    """The `tsrnn train` options that load this data as it was loaded: columns and known inputs."""
    out: list[str] = []
    for t in data.targets:
        out += ["--target", t]
    if data.features:
        out += ["--features", *data.features]
    out += ["--time-col", data.time_col]
    if data.id_col:
        out += ["--id-col", data.id_col]
    spec = data.known_spec
    if spec.future:
        out += ["--future", *spec.future]
    out += ["--calendar", ",".join(spec.calendar) or "none"]
    if spec.holidays is not None:
        out += ["--holidays", spec.holidays.spec]
    if spec.tz:
        out += ["--tz", spec.tz]
    if data.freq.sessions is not None:
        out += ["--sessions", "auto"]
    return out


def train_command(
    data_arg: str,
    data: SeriesSet,
    params: dict[str, Any],
    base: ModelConfig,
    train_cfg: TrainConfig,
    season: int | None = None,
) -> str:
    """`tsrnn train ...` that trains the configuration `params` on all the data (every searched value is an
    option), with the tuning's data columns, horizon and training settings."""
    m = VARIANT_SPEC.match(params["variant"])
    assert m is not None
    argv = ["tsrnn", "train", data_arg, *data_options(data), "--cell", m.group(2)]
    if m.group(1):
        argv.append("--bidirectional")
    argv += [
        "--layers",
        str(params["layers"]),
        "--hidden",
        str(params["hidden"]),
        "--input-len",
        str(params["input_len"]),
        "--horizon",
        str(base.horizon),
        "--dropout",
        f"{params['dropout']:g}",
        "--lr",
        f"{params['lr']:g}",
        "--weight-decay",
        f"{params['weight_decay']:g}",
        "--loss",
        params["loss"],
    ]
    if base.scaling != "window":
        argv += ["--scaling", base.scaling]
    if base.highway:
        argv.append("--highway")
    if base.quantiles:
        argv += ["--quantiles", ",".join(f"{q:g}" for q in base.quantiles)]
    argv += [
        "--epochs",
        str(train_cfg.epochs),
        "--patience",
        str(train_cfg.patience),
        "--batch-size",
        str(train_cfg.batch_size),
        "--seed",
        str(train_cfg.seed),
    ]
    if train_cfg.windows_per_epoch:
        argv += ["--windows-per-epoch", str(train_cfg.windows_per_epoch)]
    if train_cfg.device != "cpu":
        argv += ["--device", train_cfg.device]
    if season:
        argv += ["--season", str(season)]
    return shlex.join(argv)


# --- the tables -----------------------------------------------------------------------------------------------


def trials_frame(result: TuneResult) -> pl.DataFrame:
    return pl.DataFrame([t.to_row() for t in result.trials])


def write_tables(result: TuneResult, out_dir: Path) -> dict[str, str]:
    """trials.csv, trials.json, trials.md and best_command.txt in out_dir, each written atomically; the model
    files already written are listed too."""
    paths = {ext: out_dir / f"trials.{ext}" for ext in ("csv", "json", "md")}
    files = {k: str(p) for k, p in paths.items()}
    if result.command:
        files["command"] = str(out_dir / "best_command.txt")
    if result.best_path:
        files["best"] = result.best_path
    if result.ensemble and result.ensemble.get("path"):
        files["ensemble"] = result.ensemble["path"]
    result.files = files
    if result.trials:
        atomic_write(paths["csv"], lambda tmp: trials_frame(result).write_csv(tmp))
    else:
        atomic_write(paths["csv"], lambda tmp: tmp.write_text("trial,state\n"))
    atomic_write(paths["json"], lambda tmp: tmp.write_text(json.dumps(result.to_dict(), indent=2, default=str)))
    atomic_write(paths["md"], lambda tmp: tmp.write_text(format_markdown(result)))
    if result.command:
        atomic_write(out_dir / "best_command.txt", lambda tmp: tmp.write_text(result.command + "\n"))
    return files


def format_rows(result: TuneResult) -> tuple[list[str], list[list[str]]]:
    header = [
        "#",
        "state",
        "variant",
        "layers",
        "hidden",
        "window",
        "lr",
        "dropout",
        "wd",
        "loss",
        "MASE",
        "sMAPE %",
        "epochs",
        "s",
    ]
    rows = []
    best = result.best.number if result.best else None
    for t in result.trials:
        p, m = t.params, t.metrics
        rows.append(
            [
                str(t.number) + (" *" if t.number == best else ""),
                t.state,
                p["variant"],
                str(p["layers"]),
                str(p["hidden"]),
                str(p["input_len"]),
                f"{p['lr']:g}",
                f"{p['dropout']:g}",
                f"{p['weight_decay']:g}",
                p["loss"],
                f"{m['mase']:.3f}" if "mase" in m else "-",
                f"{m['smape']:.2f}" if "smape" in m else "-",
                str(t.epochs),
                f"{t.seconds:.1f}",
            ]
        )
    return header, rows


def format_text(result: TuneResult) -> str:
    header, rows = format_rows(result)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i in (1, 2, 9) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    )


def format_markdown(result: TuneResult) -> str:
    p = result.protocol
    header, rows = format_rows(result)
    budget = f"budget {format_seconds(p['budget_s'])}" if p["budget_s"] else "no budget"
    asked = f"{p['trials']} trials asked" if p["trials"] else "trials until the budget ends"
    lines = [
        f"# tsrnn tune: {p['data']}",
        "",
        f"{p['series']} series, {p['frequency']}, season {p['season']}; horizon {p['horizon']}, {p['folds']} "
        f"rolling origins; {p['training']}. {asked}, {budget}; {len(result.trials)} ran in "
        f"{format_seconds(result.seconds)} (stopped: {result.stopped}). Sampler: {p['sampler']}; pruning: "
        f"{p['pruner']}. MASE is the mean over the folds; * best.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    base = ", ".join(f"{k.replace('_', ' ')} {v['mase']:.3f}" for k, v in result.baselines.items())
    lines += ["", f"Baselines on the same folds (MASE): {base}."]
    if result.best is not None:
        lines += [
            "",
            f"Best: trial {result.best.number} ({result.best.describe()}), MASE {result.best.mase:.3f}; "
            f"its backtest model: {result.best_path}. Train it on all the data with:",
            "",
            "```sh",
            result.command,
            "```",
        ]
    e = result.ensemble
    if e and e.get("path"):
        lines += [
            "",
            f"Ensemble ({e['method']} of trials {', '.join(map(str, e['members']))}): MASE "
            f"{e['metrics']['mase']:.3f}, one file: {e['path']}.",
        ]
    elif e:
        lines += ["", f"Ensemble {e['note']}."]
    return "\n".join(lines) + "\n"
