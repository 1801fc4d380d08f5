"""Which RNN suits this data? Train every variant on the same budget, backtest them, rank by MASE."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .backtest import Folds, baseline_forecasts, fold_interval_scores, fold_scores, make_folds, summarise
from .config import CELL_NAMES, VARIANT_SPEC, ModelConfig, TrainConfig
from .csvio import atomic_write
from .data import SeriesSet
from .errors import ConfigError
from .inference import Forecaster
from .pipeline import EXPORT_DIR, Experiment, train_experiment, validate

BASELINES = ("naive", "seasonal_naive", "drift")


@dataclass(frozen=True)
class Variant:
    name: str
    cell: str
    bidirectional: bool
    num_layers: int

    @property
    def label(self) -> str:
        bi = "bidirectional " if self.bidirectional else ""
        stack = f", {self.num_layers} layers" if self.num_layers > 1 else ""
        return f"{bi}{CELL_NAMES[self.cell]}{stack}"


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


@dataclass
class Row:
    """One line of the leaderboard: a variant or a baseline."""

    name: str
    kind: str
    metrics: dict[str, float]
    params: int = 0
    train_seconds: float = 0.0
    latency_ms: float = 0.0
    """Median ONNX Runtime latency of one forecast (batch 1)."""
    backtest_ms: float = 0.0
    """One batched ONNX Runtime call over every fold and series."""
    epochs: int = 0
    model_path: str | None = None
    label: str = ""


@dataclass
class Leaderboard:
    rows: list[Row]
    protocol: dict[str, Any]
    best: str
    best_path: str | None = None
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "best": self.best, "best_path": self.best_path,
                "files": self.files, "rows": [asdict(r) for r in self.rows]}


@dataclass
class CompareProgress:
    """Sent before each variant starts (epoch None) and after each of its epochs."""

    index: int
    total: int
    variant: str
    epoch: Any = None


ProgressFn = Callable[[CompareProgress], None]


def run_compare(data: SeriesSet, variants: list[Variant], base: ModelConfig, train_cfg: TrainConfig,
                folds: int = 3, refit: bool = False, season: int | None = None, out_dir: Path | None = None,
                on_progress: ProgressFn | None = None, should_stop: Callable[[], bool] | None = None,
                export_best: bool = True) -> Leaderboard:
    """Backtest every variant and the baselines on the same folds; export the best variant."""
    if base.task != "forecast":
        raise ConfigError("compare ranks forecasting models; the direction task is not compared")
    season = season or data.freq.season
    out_dir = out_dir or EXPORT_DIR / f"compare_{data.path.stem}"
    fold_data = make_folds(data, base.input_len, base.horizon, folds)
    validate(data.drop_last(folds * base.horizon), base)
    rows = [_baseline_row(name, fc, fold_data, season) for name, fc in baseline_forecasts(fold_data, season).items()]
    for i, v in enumerate(variants):
        if should_stop and should_stop():
            break
        cfg = replace(base, cell=v.cell, bidirectional=v.bidirectional, num_layers=v.num_layers)

        def progress(info: Any, i: int = i, v: Variant = v) -> None:
            if on_progress:
                on_progress(CompareProgress(i, len(variants), v.name, info))

        if on_progress:
            on_progress(CompareProgress(i, len(variants), v.name))
        rows.append(_variant_row(v, cfg, train_cfg, data, fold_data, season, refit, out_dir, progress, should_stop))
    models = [r for r in rows if r.kind == "model"]
    rows.sort(key=lambda r: (np.nan_to_num(r.metrics["mase"], nan=np.inf), r.kind))
    best = min(models, key=lambda r: np.nan_to_num(r.metrics["mase"], nan=np.inf)) if models else None
    protocol = {
        "data": data.path.name, "series": data.n_series, "frequency": data.freq.label, "season": season,
        "input_len": base.input_len, "horizon": base.horizon, "folds": folds, "refit": refit,
        "hidden_size": base.hidden_size, "scaling": base.scaling, "quantiles": list(base.quantiles),
        "epochs": train_cfg.epochs, "patience": train_cfg.patience, "batch_size": train_cfg.batch_size,
        "lr": train_cfg.lr, "seed": train_cfg.seed,
        "training": ("at each origin, on the data before it" if refit else
                     f"once, on the data before the first origin (the last {folds} x {base.horizon} steps held out)"),
        "calendar": data.known_spec.describe(),
        "unscored_fold_windows": 0 if fold_data.valid is None else int((~fold_data.valid).sum()),
    }
    board = Leaderboard(rows, protocol, best.name if best else "")
    if best and export_best:
        board.best_path = str(_export_best(best, variants, base, train_cfg, data, season, board))
    board.files = write_leaderboard(board, out_dir)
    return board


def _baseline_row(name: str, forecast: np.ndarray, folds: Folds, season: int) -> Row:
    return Row(name, "baseline", summarise(fold_scores(folds, forecast, season)), label=name.replace("_", " "))


def _variant_row(v: Variant, cfg: ModelConfig, train_cfg: TrainConfig, data: SeriesSet, folds: Folds, season: int,
                 refit: bool, out_dir: Path, progress: Callable[[Any], None],
                 should_stop: Callable[[], bool] | None) -> Row:
    """Train (once, or at every origin), export, and score one variant through ONNX Runtime."""
    origins = list(range(folds.folds)) if refit else [0]
    outputs: dict[str, list[np.ndarray]] = {}
    seconds, epochs, backtest_ms = 0.0, 0, 0.0
    path = out_dir / "models" / f"{v.name}.onnx"
    for k in origins:
        held_out = (folds.folds - k) * folds.horizon
        exp = train_experiment(data.drop_last(held_out), cfg, train_cfg, season, on_epoch=progress,
                               should_stop=should_stop, holdout=False)
        seconds += exp.result.seconds
        epochs += exp.result.epochs_run
        model = Forecaster.load(exp.export(path).path)
        rows = slice(k * folds.n_series, None) if not refit else folds.fold_slice(k)
        t0 = time.perf_counter()
        known = folds.known[rows] if folds.known is not None else None
        for name, value in model.predict_outputs(folds.history[rows], known).items():
            outputs.setdefault(name, []).append(value)
        backtest_ms += (time.perf_counter() - t0) * 1000
    joined = {n: np.concatenate(parts) for n, parts in outputs.items()}
    per_fold = fold_scores(folds, joined["forecast"], season)
    metrics = summarise(per_fold)
    if "quantiles" in joined:
        metrics.update(summarise(fold_interval_scores(folds, joined["quantiles"], list(cfg.quantiles), season),
                                 ("coverage", "msis")))
    return Row(v.name, "model", metrics, params=_params(exp), train_seconds=seconds,
               latency_ms=_latency(model, folds.history[:1], None if folds.known is None else folds.known[:1]),
               backtest_ms=backtest_ms, epochs=epochs,
               model_path=str(path), label=v.label)


def _params(exp: Experiment) -> int:
    return sum(p.numel() for p in exp.result.model.parameters())


def _latency(model: Forecaster, one: np.ndarray, known: np.ndarray | None, repeats: int = 50) -> float:
    model.predict(one, known)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict(one, known)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _export_best(best: Row, variants: list[Variant], base: ModelConfig, train_cfg: TrainConfig, data: SeriesSet,
                 season: int, board: Leaderboard) -> Path:
    """Retrain the winner on all the data (same budget, usual split) and export it to exports/."""
    v = next(x for x in variants if x.name == best.name)
    cfg = replace(base, cell=v.cell, bidirectional=v.bidirectional, num_layers=v.num_layers)
    exp = train_experiment(data, cfg, train_cfg, season)
    exp.backtest = {"protocol": board.protocol, "metrics": best.metrics}
    return exp.export().path


def write_leaderboard(board: Leaderboard, out_dir: Path) -> dict[str, str]:
    """leaderboard.csv, .json and .md in out_dir, each written atomically."""
    paths = {ext: out_dir / f"leaderboard.{ext}" for ext in ("csv", "json", "md")}
    board.files = {k: str(p) for k, p in paths.items()}
    atomic_write(paths["csv"], lambda tmp: leaderboard_frame(board).write_csv(tmp))
    atomic_write(paths["json"], lambda tmp: tmp.write_text(json.dumps(board.to_dict(), indent=2)))
    atomic_write(paths["md"], lambda tmp: tmp.write_text(format_markdown(board)))
    return board.files


def leaderboard_frame(board: Leaderboard) -> pl.DataFrame:
    keys = sorted({k for r in board.rows for k in r.metrics}, key=_metric_order)
    return pl.DataFrame([
        {"rank": i + 1, "variant": r.name, "kind": r.kind, **{k: r.metrics.get(k) for k in keys},
         "params": r.params, "train_seconds": round(r.train_seconds, 3), "latency_ms": round(r.latency_ms, 4),
         "backtest_ms": round(r.backtest_ms, 3), "epochs": r.epochs}
        for i, r in enumerate(board.rows)
    ])


def _metric_order(key: str) -> tuple[int, int]:
    base = key.removesuffix("_std")
    order = ["mase", "smape", "mae", "rmse", "coverage", "msis"]
    return (order.index(base) if base in order else 99, key.endswith("_std"))


def format_rows(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the leaderboard, as a person reads it (mean ± spread over folds)."""
    extra = [k for k in ("coverage", "msis") if any(k in r.metrics for r in board.rows)]
    header = ["#", "variant", "MASE", "sMAPE %", "MAE", "RMSE", *[k if k == "coverage" else "MSIS" for k in extra],
              "params", "train s", "ORT ms"]
    rows = []
    for i, r in enumerate(board.rows):
        m = r.metrics
        cells = [str(i + 1), r.name + (" *" if r.name == board.best else ""), _pm(m, "mase", 3), _pm(m, "smape", 2),
                 _pm(m, "mae", 4), _pm(m, "rmse", 4)]
        cells += [_pm(m, k, 3) if k in m else "" for k in extra]
        model = r.kind == "model"
        cells += [f"{r.params:,}" if model else "-", f"{r.train_seconds:.1f}" if model else "-",
                  f"{r.latency_ms:.3f}" if model else "-"]
        rows.append(cells)
    return header, rows


def _pm(m: dict[str, float], key: str, digits: int) -> str:
    if key not in m:
        return ""
    value, spread = m[key], m.get(f"{key}_std", 0.0)
    if key in ("mae", "rmse"):
        return f"{value:.4g} ± {spread:.2g}"
    return f"{value:.{digits}f} ± {spread:.{digits}f}"


def format_text(board: Leaderboard) -> str:
    header, rows = format_rows(board)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) if i in (0, 1) else c.rjust(w) for i, (c, w) in
                               enumerate(zip(r, widths, strict=True))) for r in [header, *rows])


def format_markdown(board: Leaderboard) -> str:
    header, rows = format_rows(board)
    p = board.protocol
    lines = [f"# tsrnn compare: {p['data']}", "",
             f"{p['series']} series, {p['frequency']}, season {p['season']}; input window {p['input_len']}, "
             f"horizon {p['horizon']}, {p['folds']} rolling origins; training {p['training']}; budget "
             f"{p['epochs']} epochs (early stopping, patience {p['patience']}), hidden {p['hidden_size']}, "
             f"batch {p['batch_size']}, lr {p['lr']}, seed {p['seed']}. Mean ± spread over folds; * best.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
