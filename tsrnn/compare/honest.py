"""An honest winner: when a baseline beats every network on the backtest, compare says so plainly and exports
that baseline as the best model (`tsrnn.export.baselines`), unless the best network is asked for.

What is exported, in order:
- a network has the lowest MASE: the best network, retrained on all the data (as ever);
- a baseline has it, and the compare asked for the best network (--best network): the best network;
- a baseline has it, and the compare asked for quantiles: the best network, because a baseline file gives no
  quantiles (the verdict says so);
- a baseline has it: its file, scored on the same folds through ONNX Runtime first. The naive and seasonal-naive
  files forecast exactly what their rows scored (a seasonal-naive file at season m, e.g. 'seasonal_naive_336',
  "repeat last week", reads a window of max(input_len, m) steps); drift's file draws its line over its input
  window rather than over all the history, and is exported only if it still beats the best network on the folds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import tsrnn.export.baselines as baselines_onnx
import tsrnn.modelfile.artifact as artifact
from tsrnn.compare.leaderboard import claim_model, rank_key
from tsrnn.core.budget import format_seconds
from tsrnn.core.config import ModelConfig
from tsrnn.core.errors import TsrnnError
from tsrnn.core.paths import winner_path
from tsrnn.data.loader import SeriesSet
from tsrnn.evaluate.backtest import Folds, fold_scores, make_folds, summarise
from tsrnn.evaluate.metrics import baseline_kind, baselines, score_table

if TYPE_CHECKING:
    from tsrnn.compare.leaderboard import Leaderboard, Row


def score_words(m: dict[str, float]) -> tuple[str, float]:
    """The metric that ranks: MASE, or the MAE where MASE is undefined (no in-sample seasonal change)."""
    mase = m.get("mase", math.nan)
    return ("MASE", mase) if math.isfinite(mase) else ("MAE", m.get("mae", math.nan))


def _versus(a: Row, b: Row) -> str:
    name, x = score_words(a.metrics)
    y = b.metrics.get("mase" if name == "MASE" else "mae", math.nan)
    return f"{name} {x:.3f} against {y:.3f}"


def settle_winner(
    board: Leaderboard,
    data: SeriesSet,
    base: ModelConfig,
    season: int,
    folds: Folds,
    out_dir: Path,
    choice: str,
    export_best: bool,
    export_network: Callable[[], Path | None],
) -> None:
    """Name the winner, write the verdict, and export what the rules above say (when export_best). References
    (statsforecast's models) never win: the verdict says where the best network stands against them."""
    _settle(board, data, base, season, folds, out_dir, choice, export_best, export_network)
    board.verdict = (board.verdict + reference_words(board)).strip()


def reference_words(board: Leaderboard) -> str:
    """' For reference, MSTL (seasons 48, 336) scores MASE 0.317 against 0.525 for gru, the best network.'"""
    refs = [r for r in board.rows if r.kind == "reference"]
    net = next((r for r in board.rows if r.kind == "model"), None)
    if not refs or net is None:
        return ""
    best = refs[0]  # the rows are in rank order
    beats = "; the best network beats it" if rank_key(net.metrics) < rank_key(best.metrics) else ""
    return (
        f" For reference, {best.label} scores {_versus(best, net)} for {net.name}, the best "
        f"network{beats}; references are never exported."
    )


def _settle(
    board: Leaderboard,
    data: SeriesSet,
    base: ModelConfig,
    season: int,
    folds: Folds,
    out_dir: Path,
    choice: str,
    export_best: bool,
    export_network: Callable[[], Path | None],
) -> None:
    rows = [r for r in board.rows if r.kind != "reference"]
    board.winner = rows[0].name if rows else ""
    net = next((r for r in rows if r.kind == "model"), None)
    top = rows[0] if rows else None
    if net is None or top is None:
        board.verdict = "no variant was ranked"
        return
    if top.kind != "baseline":
        rival = next((r for r in rows if r.kind == "baseline"), None)
        board.verdict = f"{net.name} beats every baseline" + (
            f": {_versus(net, rival)} for {rival.name}." if rival else "."
        )
        if export_best:
            _exported(board, export_network(), net.name)
        return
    words = f"{top.name} beats every network: {_versus(top, net)} for {net.name}, the best network."
    if board.protocol.budget_s:
        words += (
            f" The networks trained within a time budget of {format_seconds(board.protocol.budget_s)}; "
            "a larger budget may change that."
        )
    file, why_not = None, None
    if base.quantiles:
        why_not = "a baseline gives no quantiles"
    else:
        try:
            file = _baseline_file(
                top, board, data, base, season, folds, claim_model(out_dir / "models" / f"{top.name}.onnx")
            )
        except TsrnnError as exc:
            why_not = exc.message
        if file is not None and rank_key(file[1]) >= rank_key(net.metrics):
            name, value = score_words(file[1])
            why_not = (
                f"its file, which draws the line over its {file[0].input_len}-step window, scores {name} "
                f"{value:.3f} on the same folds, no better than {net.name}"
            )
            file = None
    if file is not None:
        top.model_path = str(file[2])
    if not export_best:
        board.verdict = words + (f" Its model file: {top.model_path}." if top.model_path else "")
        return
    if choice == "network":
        _exported(board, export_network(), net.name)
        board.verdict = f"{words} The best network, {net.name}, is exported, as asked."
    elif file is None:
        _exported(board, export_network(), net.name)
        board.verdict = f"{words} But {why_not}: the best network, {net.name}, is exported instead."
    else:
        meta = file[0]
        history, known = baselines_onnx.sample_windows(data, meta.input_len, meta.horizon)
        target = winner_path(out_dir, data.path.stem, top.name)
        _exported(board, baselines_onnx.export_baseline(meta.model, target, meta, history, known).path, top.name)
        board.verdict = f"{words} The exported model is that baseline: {meta.describe()}."


def _exported(board: Leaderboard, path: Path | None, name: str) -> None:
    if path is not None:
        board.best_path, board.exported = str(path), name


def _baseline_file(
    row: Row, board: Leaderboard, data: SeriesSet, base: ModelConfig, season: int, folds: Folds, path: Path
) -> tuple[artifact.ModelMeta, dict[str, float], Path]:
    """Write the baseline's file beside the variants' and score it on the same folds through ONNX Runtime;
    return its metadata, its fold metrics and its path."""
    # Here, not at the top: loads ONNX Runtime, which importing this module does not.
    from tsrnn.runtime.inference import Forecaster

    kind, m = baseline_kind(row.name, season)  # 'seasonal_naive_336': the file repeats the last 336 steps
    window = baselines_onnx.window_for(kind, base.input_len, m)
    file_folds = folds if window == folds.history.shape[1] else make_folds(data, window, base.horizon, folds.folds)
    meta = baselines_onnx.meta_for(
        kind, data, window, base.horizon, m, test_metrics=_test_metrics(kind, data, window, base.horizon, m, season)
    )
    history, known = baselines_onnx.sample_windows(data, window, base.horizon)
    baselines_onnx.export_baseline(kind, path, meta, history, known)
    forecast = Forecaster.load(path, threads=1).predict(file_folds.history, file_folds.known)
    metrics = summarise(fold_scores(file_folds, forecast, season))  # MASE scaled by the main season, as the rows
    backtest = {"protocol": board.protocol.as_dict(), "metrics": row.metrics, "file_metrics": metrics}
    meta = meta.with_changes(backtest=backtest)
    baselines_onnx.export_baseline(kind, path, meta, history, known)  # again, with the backtest in its metadata
    return meta, metrics, path


def _test_metrics(kind: str, data: SeriesSet, window: int, horizon: int, m: int, season: int) -> dict[str, Any]:
    """The file's scores on the last horizon of every series, beside the baselines', as a network's file has
    (the file's season m; MASE scaled by the main season)."""
    n_t = len(data.targets)
    series = [data.values[i][:, :n_t].astype(np.float32) for i in range(data.n_series)]
    insample = [v[:-horizon] for v in series]
    actual = np.stack([v[-horizon:] for v in series])
    forecast = baselines_onnx.reference(kind, np.stack([v[-window:] for v in insample]), horizon, n_t, m)
    methods = {"model": forecast, **baselines(insample, horizon, season, (m,))}
    return score_table(actual, methods, insample, season, list(data.targets))
