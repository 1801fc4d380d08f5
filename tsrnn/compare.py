"""Which RNN suits this data? Train every variant on the same budget, backtest them, rank by MASE."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .backtest import Folds, baseline_forecasts, fold_interval_scores, fold_scores, make_folds, summarise
from .budget import Deadline, format_seconds
from .config import VARIANT_SPEC, ModelConfig, TrainConfig, variant_label
from .csvio import atomic_write
from .data import SeriesSet
from .errors import ConfigError
from .inference import Forecaster
from .paths import compare_dir, export_path
from .pipeline import Experiment, train_experiment, validate

BEST_CHOICES = ("auto", "network")
"""What compare exports as the best: auto, the row with the lowest MASE (a baseline where one beats every
network: `tsrnn.honest`); network, the best network whatever the baselines score."""


@dataclass(frozen=True)
class Variant:
    name: str
    cell: str
    bidirectional: bool
    num_layers: int

    @property
    def label(self) -> str:
        return variant_label(self.name, self.num_layers)


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
    trained: Any = field(default=None, repr=False, compare=False, metadata={"internal": True})
    """A variant's last trained experiment and its fold outputs, for an ensemble (`tsrnn.ensemble`); not saved."""


@dataclass
class Leaderboard:
    rows: list[Row]
    protocol: dict[str, Any]
    best: str
    """The best network (the lowest MASE among the variants)."""
    best_path: str | None = None
    """The exported best model: the best network retrained on all the data, or the winning baseline's file."""
    files: dict[str, str] = field(default_factory=dict)
    winner: str = ""
    """The row with the lowest MASE, a network or a baseline."""
    exported: str = ""
    """What best_path holds: a variant's or a baseline's name ('' when nothing was exported)."""
    verdict: str = ""
    """Who won, in one or two plain sentences (a baseline that beats every network is named)."""

    @property
    def baseline_wins(self) -> bool:
        return any(r.name == self.winner and r.kind == "baseline" for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "best": self.best,
            "best_path": self.best_path,
            "winner": self.winner,
            "winner_kind": "baseline" if self.baseline_wins else "model" if self.winner else "",
            "exported": self.exported,
            "verdict": self.verdict,
            "files": self.files,
            "rows": [
                {f.name: getattr(r, f.name) for f in fields(r) if not f.metadata.get("internal")} for r in self.rows
            ],
        }


@dataclass
class CompareProgress:
    """Sent before each variant starts (epoch None) and after each of its epochs."""

    index: int
    total: int
    variant: str
    epoch: Any = None
    elapsed: float = 0.0
    """Seconds since the comparison started."""
    remaining: float | None = None
    """Seconds left of its budget (None without one)."""
    note: str | None = None
    """What a training was given (epochs, time), as it starts."""
    estimate: str | None = None
    """The run's estimate, sent once before the first variant trains."""
    final: bool = False
    """The best variant's retraining on all the data (after every variant)."""


ProgressFn = Callable[[CompareProgress], None]


def run_compare(
    data: SeriesSet,
    variants: list[Variant],
    base: ModelConfig,
    train_cfg: TrainConfig,
    folds: int = 3,
    refit: bool = False,
    season: int | None = None,
    out_dir: Path | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    export_best: bool = True,
    deadline: Deadline | None = None,
    best: str = "auto",
    ensemble: int = 0,
    ensemble_method: str = "mean",
) -> Leaderboard:
    """Backtest every variant and the baselines on the same folds; export the best (`best`: auto, the row with
    the lowest MASE, a baseline where one beats every network; network, the best variant).

    With a `deadline` (limited or not) the run first measures a short warm-up of every variant and reports its
    estimate; a limited one is shared among the trainings (`tsrnn.plan`), each stopping at its share.

    With `ensemble` K >= 2, the mean (or median) of the best K variants takes its row too (`tsrnn.ensemble`)."""
    if ensemble:
        from .ensemble import check_ensemble

        check_ensemble(ensemble, ensemble_method, len(variants))
    if base.task != "forecast":
        raise ConfigError("compare ranks forecasting models; the direction task is not compared")
    if best not in BEST_CHOICES:
        raise ConfigError(f"unknown --best '{best}': choose one of {', '.join(BEST_CHOICES)}")
    season = season or data.freq.season
    out_dir = out_dir or compare_dir(data.path.stem)
    fold_data = make_folds(data, base.input_len, base.horizon, folds)
    validate(data.drop_last(folds * base.horizon), base)
    rows = [_baseline_row(name, fc, fold_data, season) for name, fc in baseline_forecasts(fold_data, season).items()]
    configs = [replace(base, cell=v.cell, bidirectional=v.bidirectional, num_layers=v.num_layers) for v in variants]
    plan = _plan(deadline, data, variants, configs, train_cfg, folds, refit, export_best) if deadline else None

    def report(
        i: int, name: str, epoch: Any = None, note: str | None = None, estimate: str | None = None, final: bool = False
    ) -> None:
        if on_progress:
            on_progress(
                CompareProgress(
                    i,
                    len(variants),
                    name,
                    epoch,
                    deadline.elapsed() if deadline else 0.0,
                    deadline.remaining() if deadline and deadline.limited else None,
                    note,
                    estimate,
                    final,
                )
            )

    estimate = plan.describe(_what(variants, folds, refit, export_best)) if plan is not None else None
    if estimate and variants:
        report(0, variants[0].name, estimate=estimate)
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

        if on_progress and plan is None:
            report(i, v.name)
        rows.append(
            _variant_row(
                v, cfg, train_cfg, data, fold_data, season, refit, out_dir, progress, should_stop, plan, announce
            )
        )
    models = [r for r in rows if r.kind == "model"]
    rows.sort(key=lambda r: (*_rank(r), r.kind))
    best_row = min(models, key=_rank) if models else None
    protocol = {
        "data": data.path.name,
        "series": data.n_series,
        "frequency": data.freq.label,
        "season": season,
        "input_len": base.input_len,
        "horizon": base.horizon,
        "folds": folds,
        "refit": refit,
        "hidden_size": base.hidden_size,
        "scaling": base.scaling,
        "quantiles": list(base.quantiles),
        "epochs": train_cfg.epochs,
        "patience": train_cfg.patience,
        "batch_size": train_cfg.batch_size,
        "lr": train_cfg.lr,
        "seed": train_cfg.seed,
        "budget_s": deadline.seconds if deadline else None,
        "windows_per_epoch": train_cfg.windows_per_epoch,
        "estimate": estimate,
        "skipped": skipped,
        "training": (
            "at each origin, on the data before it"
            if refit
            else f"once, on the data before the first origin (the last {folds} x {base.horizon} steps held out)"
        ),
        "calendar": data.known_spec.describe(),
        "unscored_fold_windows": 0 if fold_data.valid is None else int((~fold_data.valid).sum()),
    }
    board = Leaderboard(rows, protocol, best_row.name if best_row else "")
    from .honest import settle_winner

    settle_winner(
        board,
        data,
        base,
        season,
        fold_data,
        out_dir,
        best,
        export_best,
        lambda: (
            _export_best(best_row, variants, base, train_cfg, data, season, board, plan, report) if best_row else None
        ),
    )
    if ensemble:
        from .ensemble import add_ensemble_row

        add_ensemble_row(board, ensemble, ensemble_method, fold_data, season, out_dir)
    for r in rows:
        r.trained = None  # the trained experiments served the ensemble; the rows keep their model files
    if deadline is not None:
        protocol["elapsed_s"] = round(deadline.elapsed(), 1)
    board.files = write_leaderboard(board, out_dir)
    return board


def _rank(r: Row) -> tuple[float, float]:
    """Lowest MASE first; the MAE breaks ties (a series whose seasonal-naive MAE is 0 has no MASE)."""
    return (float(np.nan_to_num(r.metrics["mase"], nan=np.inf)), float(np.nan_to_num(r.metrics["mae"], nan=np.inf)))


def _what(variants: list[Variant], folds: int, refit: bool, export_best: bool) -> str:
    n = f"{len(variants)} variant{'s' if len(variants) != 1 else ''}"
    runs = f"{n} x {folds} folds (refit at each)" if refit else f"{n} (one training each, {folds} folds)"
    return runs + (" and retraining the best" if export_best else "")


def _plan(
    deadline: Deadline,
    data: SeriesSet,
    variants: list[Variant],
    configs: list[ModelConfig],
    train_cfg: TrainConfig,
    folds: int,
    refit: bool,
    export_best: bool,
) -> Any:
    """Measure every variant's warm-up on the data before the first origin and plan the budget."""
    from .plan import plan_run
    from .windows import split_series

    base = configs[0] if configs else None
    if base is None:
        return None
    split = split_series(data.drop_last(folds * base.horizon), base.input_len, base.horizon, test_len=0)
    return plan_run(
        deadline,
        [(v.name, c) for v, c in zip(variants, configs, strict=True)],
        train_cfg,
        split,
        runs=folds if refit else 1,
        final=export_best,
    )


def _baseline_row(name: str, forecast: np.ndarray, folds: Folds, season: int) -> Row:
    return Row(name, "baseline", summarise(fold_scores(folds, forecast, season)), label=name.replace("_", " "))


def _variant_row(
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
) -> Row:
    """Train (once, or at every origin), export, and score one variant through ONNX Runtime."""
    origins = list(range(folds.folds)) if refit else [0]
    outputs: dict[str, list[np.ndarray]] = {}
    seconds, epochs, backtest_ms = 0.0, 0, 0.0
    path = out_dir / "models" / f"{v.name}.onnx"
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
    per_fold = fold_scores(folds, joined["forecast"], season)
    metrics = summarise(per_fold)
    if "quantiles" in joined:
        metrics.update(
            summarise(
                fold_interval_scores(folds, joined["quantiles"], list(cfg.quantiles), season), ("coverage", "msis")
            )
        )
    return Row(
        v.name,
        "model",
        metrics,
        params=_params(exp),
        train_seconds=seconds,
        latency_ms=_latency(model, folds.history[:1], None if folds.known is None else folds.known[:1]),
        backtest_ms=backtest_ms,
        epochs=epochs,
        model_path=str(path),
        label=v.label,
        trained=(exp, joined),
    )


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


def _export_best(
    best: Row,
    variants: list[Variant],
    base: ModelConfig,
    train_cfg: TrainConfig,
    data: SeriesSet,
    season: int,
    board: Leaderboard,
    plan: Any = None,
    report: Callable[..., None] | None = None,
) -> Path:
    """Retrain the winner on all the data (same budget, usual split; with a plan, what is left of the budget)
    and export it to exports/."""
    i = next(k for k, x in enumerate(variants) if x.name == best.name)
    v = variants[i]
    cfg = replace(base, cell=v.cell, bidirectional=v.bidirectional, num_layers=v.num_layers)
    tc = train_cfg
    if plan is not None and plan.spent() and best.model_path:
        return _copy_backtest_model(best, cfg, data, board)
    if plan is not None:
        tc, share = plan.config_for(v.name)
        if report:
            report(i, v.name, note=f"retraining {v.name} on all the data: {share.describe()}", final=True)
    exp = train_experiment(
        data, cfg, tc, season, on_epoch=(lambda info: report(i, v.name, info, final=True)) if report else None
    )
    exp.backtest = {"protocol": board.protocol, "metrics": best.metrics}
    return exp.export().path


def _copy_backtest_model(best: Row, cfg: ModelConfig, data: SeriesSet, board: Leaderboard) -> Path:
    """No time is left to retrain the best variant on all the data: export its backtest model as it is."""
    import shutil

    from .pipeline import variant_name

    board.protocol["best_retrained"] = False
    target = export_path(data.path.stem, variant_name(cfg))
    return atomic_write(target, lambda tmp: shutil.copyfile(str(best.model_path), tmp), example="model.onnx")


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
    return pl.DataFrame(
        [
            {
                "rank": i + 1,
                "variant": r.name,
                "kind": r.kind,
                **{k: r.metrics.get(k) for k in keys},
                "params": r.params,
                "train_seconds": round(r.train_seconds, 3),
                "latency_ms": round(r.latency_ms, 4),
                "backtest_ms": round(r.backtest_ms, 3),
                "epochs": r.epochs,
            }
            for i, r in enumerate(board.rows)
        ]
    )


def _metric_order(key: str) -> tuple[int, int]:
    base = key.removesuffix("_std")
    order = ["mase", "smape", "mae", "rmse", "coverage", "msis"]
    return (order.index(base) if base in order else 99, key.endswith("_std"))


def format_rows(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the leaderboard, as a person reads it (mean ± spread over folds)."""
    extra = [k for k in ("coverage", "msis") if any(k in r.metrics for r in board.rows)]
    header = [
        "#",
        "variant",
        "MASE",
        "sMAPE %",
        "MAE",
        "RMSE",
        *[k if k == "coverage" else "MSIS" for k in extra],
        "params",
        "train s",
        "ORT ms",
    ]
    rows = []
    for i, r in enumerate(board.rows):
        m = r.metrics
        mark = " *" if r.name == board.best else " !" if r.kind == "baseline" and r.name == board.winner else ""
        cells = [str(i + 1), r.name + mark, _pm(m, "mase", 3), _pm(m, "smape", 2), _pm(m, "mae", 4), _pm(m, "rmse", 4)]
        cells += [_pm(m, k, 3) if k in m else "" for k in extra]
        model = r.kind != "baseline"
        cells += [
            f"{r.params:,}" if model else "-",
            f"{r.train_seconds:.1f}" if model else "-",
            f"{r.latency_ms:.3f}" if model else "-",
        ]
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
    return "\n".join(
        "  ".join(c.ljust(w) if i in (0, 1) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    )


def format_markdown(board: Leaderboard) -> str:
    header, rows = format_rows(board)
    p = board.protocol
    lines = [
        f"# tsrnn compare: {p['data']}",
        "",
        f"{p['series']} series, {p['frequency']}, season {p['season']}; input window {p['input_len']}, "
        f"horizon {p['horizon']}, {p['folds']} rolling origins; training {p['training']}; budget "
        f"{p['epochs']} epochs (early stopping, patience {p['patience']}), hidden {p['hidden_size']}, "
        f"batch {p['batch_size']}, lr {p['lr']}, seed {p['seed']}{budget_words(p)}. Mean ± spread over folds; "
        "* best network; ! a baseline that beats every network.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if board.verdict:
        lines += ["", ("**A baseline wins.** " if board.baseline_wins else "") + board.verdict]
    return "\n".join(lines) + "\n"


def budget_words(p: dict[str, Any]) -> str:
    """'; time budget 5 min (ran 4 min 52 s), 2048 windows sampled per epoch' from a protocol, or ''."""
    out = ""
    if p.get("budget_s"):
        ran = f" (ran {format_seconds(p['elapsed_s'])})" if p.get("elapsed_s") is not None else ""
        out += f"; time budget {format_seconds(p['budget_s'])}{ran}"
    if p.get("windows_per_epoch"):
        out += f"; at most {p['windows_per_epoch']} training windows sampled per epoch"
    return out
