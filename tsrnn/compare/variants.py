"""Compare's variants: how they are named, and how each is trained (once, or at every origin), exported and
backtested through ONNX Runtime on the shared folds, and how the best is retrained on all the data."""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tsrnn.compare.leaderboard import Leaderboard, Row, claim_model
from tsrnn.core.config import VARIANT_SPEC, ModelConfig, TrainConfig, variant_label
from tsrnn.core.errors import ConfigError
from tsrnn.core.paths import EXPORT_DIR, winner_path
from tsrnn.core.safeio import atomic_write
from tsrnn.data.loader import SeriesSet
from tsrnn.evaluate.backtest import Folds, fold_interval_scores, fold_scores, summarise
from tsrnn.experiment.pipeline import Experiment, train_experiment, variant_name
from tsrnn.runtime.inference import Forecaster

ReportFn = Callable[..., None]
"""compare's progress: report(index, variant, epoch=None, note=None, estimate=None, final=False)."""


@dataclass(frozen=True)
class Variant:
    name: str
    cell: str
    bidirectional: bool
    num_layers: int

    @property
    def label(self) -> str:
        return variant_label(self.name, self.num_layers)

    def config(self, base: ModelConfig) -> ModelConfig:
        """`base` with this variant's cell, direction and layers."""
        return replace(base, cell=self.cell, bidirectional=self.bidirectional, num_layers=self.num_layers)


def parse_variants(text: str, layers: int = 1) -> list[Variant]:
    """'rnn,gru,bilstm,lstm-3': a cell, 'bi' for bidirectional, '-N' for N stacked layers."""
    out = []
    for token in (t.strip().lower() for t in text.split(",") if t.strip()):
        m = VARIANT_SPEC.match(token)
        if not m:
            raise ConfigError(f"unknown variant '{token}': write [bi]rnn|gru|lstm[-LAYERS], e.g. gru, bilstm, lstm-3")
        out.append(Variant(token, m.group(2), bool(m.group(1)), int(m.group(3) or layers)))
    if not out:
        raise ConfigError("--variants is empty: give at least one, e.g. gru,lstm")
    if len({v.name for v in out}) != len(out):
        raise ConfigError(f"--variants lists a variant twice: {text}")
    return out


def train_variants(
    variants: list[Variant],
    configs: list[ModelConfig],
    train_cfg: TrainConfig,
    data: SeriesSet,
    folds: Folds,
    season: int,
    refit: bool,
    out_dir: Path,
    report: ReportFn,
    should_stop: Callable[[], bool] | None,
    plan: Any = None,
) -> tuple[list[Row], list[str], str | None]:
    """Every variant's row, in turn, until the run is stopped (`should_stop`, or Ctrl+C inside a training);
    with a plan, a variant that finds the budget spent is skipped (its name returned) rather than trained.
    Returns the rows, the skipped variants and the variant whose training a stop cut (None when none was): a cut
    training is neither exported nor ranked, and the variants after it are not started."""
    rows: list[Row] = []
    skipped: list[str] = []
    for i, (v, cfg) in enumerate(zip(variants, configs, strict=True)):
        if should_stop and should_stop():
            break
        if plan is not None and plan.spent():  # no time left for even one step: keep the budget
            skipped.append(v.name)
            plan.skip(v.name)
            continue

        def progress(info: Any, i: int = i, v: Variant = v) -> None:
            report(i, v.name, info)

        def announce(note: str, i: int = i, v: Variant = v) -> None:
            report(i, v.name, note=note)

        if plan is None:
            report(i, v.name)
        row = variant_row(v, cfg, train_cfg, data, folds, season, refit, out_dir, progress, should_stop, plan, announce)
        if row is None:
            return rows, skipped, v.name
        rows.append(row)
    return rows, skipped, None


def variant_row(
    v: Variant,
    cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: SeriesSet,
    folds: Folds,
    season: int,
    refit: bool,
    out_dir: Path,
    progress: Callable[[Any], None],
    should_stop: Callable[[], bool] | None,
    plan: Any = None,
    announce: Callable[[str], None] | None = None,
) -> Row | None:
    """Train (once, or at every origin), export, and score one variant through ONNX Runtime; None when a stop
    request or Ctrl+C cut a training (its model file, of an earlier origin too, is removed)."""
    origins = list(range(folds.folds)) if refit else [0]
    outputs: dict[str, list[np.ndarray]] = {}
    seconds, epochs, backtest_ms = 0.0, 0, 0.0
    path = claim_model(out_dir / "models" / f"{v.name}.onnx")
    for k in origins:
        held_out = (folds.folds - k) * folds.horizon
        t0 = time.perf_counter()
        tc = train_cfg
        if plan is not None:
            tc, share = plan.config_for(v.name)
            if announce and k == origins[0]:
                announce(share.describe() + (f" per origin, {len(origins)} origins" if refit else ""))
        exp = train_experiment(
            data.drop_last(held_out), cfg, tc, season, on_epoch=progress, should_stop=should_stop, holdout=False
        )
        if exp.result.stopped == "cancelled":  # the run is being stopped: this variant did not complete
            path.unlink(missing_ok=True)
            return None
        seconds += exp.result.seconds
        epochs += exp.result.epochs_run
        model = Forecaster.load(exp.export(path).path)
        rows = slice(k * folds.n_series, None) if not refit else folds.fold_slice(k)
        known = folds.known[rows] if folds.known is not None else None
        t1 = time.perf_counter()
        for name, value in model.predict_outputs(folds.history[rows], known).items():
            outputs.setdefault(name, []).append(value)
        backtest_ms += (time.perf_counter() - t1) * 1000
        if plan is not None:
            plan.finished(v.name, exp.result, time.perf_counter() - t0)
    joined = {n: np.concatenate(parts) for n, parts in outputs.items()}
    return Row(
        v.name,
        "model",
        _scores(folds, joined, cfg, season),
        params=_params(exp),
        train_seconds=seconds,
        latency_ms=measure_latency(model, folds.history[:1], None if folds.known is None else folds.known[:1]),
        backtest_ms=backtest_ms,
        epochs=epochs,
        model_path=str(path),
        label=v.label,
        trained=(exp, joined),
    )


def _scores(folds: Folds, joined: dict[str, np.ndarray], cfg: ModelConfig, season: int) -> dict[str, float]:
    """The backtest metrics of a variant's fold forecasts (coverage and MSIS too, with quantiles)."""
    per_fold = fold_scores(folds, joined["forecast"], season)
    metrics = summarise(per_fold)
    if "quantiles" in joined:
        metrics.update(
            summarise(
                fold_interval_scores(folds, joined["quantiles"], list(cfg.quantiles), season), ("coverage", "msis")
            )
        )
    return metrics


def _params(exp: Experiment) -> int:
    return sum(p.numel() for p in exp.result.model.parameters())


def measure_latency(model: Forecaster, one: np.ndarray, known: np.ndarray | None, repeats: int = 50) -> float:
    model.predict(one, known)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict(one, known)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


class RetrainStoppedError(Exception):
    """A stop request or Ctrl+C cut the best variant's retraining on all the data: nothing was exported."""


def retrain_best(
    best: Row,
    variants: list[Variant],
    base: ModelConfig,
    train_cfg: TrainConfig,
    data: SeriesSet,
    season: int,
    board: Leaderboard,
    plan: Any = None,
    report: ReportFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    out_dir: Path = EXPORT_DIR,
) -> Path:
    """Retrain the winner on all the data (same budget, usual split; with a plan, what is left of the budget)
    and export it to out_dir/<data>_<variant>.onnx, under a free name when that file exists (`paths.winner_path`).
    Raises RetrainStoppedError, exporting nothing, when a stop cuts the retraining."""
    i = next(k for k, x in enumerate(variants) if x.name == best.name)
    v = variants[i]
    cfg = v.config(base)
    tc = train_cfg
    if plan is not None and plan.spent() and best.model_path:
        return _copy_backtest_model(best, cfg, data, board, out_dir)
    if plan is not None:
        tc, share = plan.config_for(v.name)
        if report:
            report(i, v.name, note=f"retraining {v.name} on all the data: {share.describe()}", final=True)
    exp = train_experiment(
        data,
        cfg,
        tc,
        season,
        on_epoch=(lambda info: report(i, v.name, info, final=True)) if report else None,
        should_stop=should_stop,
    )
    if exp.result.stopped == "cancelled":
        raise RetrainStoppedError(v.name)
    exp.backtest = {"protocol": board.protocol.as_dict(), "metrics": best.metrics}
    return exp.export(winner_path(out_dir, data.path.stem, variant_name(cfg))).path


def _copy_backtest_model(best: Row, cfg: ModelConfig, data: SeriesSet, board: Leaderboard, out_dir: Path) -> Path:
    """No time is left to retrain the best variant on all the data: export its backtest model as it is."""
    board.protocol = replace(board.protocol, best_retrained=False)
    target = winner_path(out_dir, data.path.stem, variant_name(cfg))
    return atomic_write(target, lambda tmp: shutil.copyfile(str(best.model_path), tmp), example="model.onnx")
