"""The Compare screen's plot data: every ranked method's forecast on the last fold, beside the actual values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tsrnn.compare.run import Leaderboard
    from tsrnn.core.config import ModelConfig
    from tsrnn.data.loader import SeriesSet


@dataclass
class Overlay:
    """The last fold of the first series: actual values around the origin and every method's forecast."""

    times: list[Any]
    actual: np.ndarray
    origin: int
    forecasts: dict[str, np.ndarray]
    title: str


def last_fold_overlay(data: SeriesSet, board: Leaderboard, base: ModelConfig, folds: int) -> Overlay | None:
    """Forecasts of every ranked method for the first series' last fold, beside the actual values."""
    from tsrnn.evaluate.backtest import baseline_forecasts, make_folds
    from tsrnn.runtime.inference import Forecaster

    L, H = base.input_len, base.horizon
    f = make_folds(data, L, H, folds)
    first = f.fold_slice(f.folds - 1).start
    history = f.history[first : first + 1]
    known = None if f.known is None else f.known[first : first + 1]
    baselines = baseline_forecasts(f, board.protocol.season, board.protocol.seasons)
    best_baseline = next((r.name for r in board.rows if r.kind == "baseline"), None)
    forecasts: dict[str, np.ndarray] = {}
    for r in board.rows:  # in rank order; only the best baseline, or ten lines hide each other
        if r.kind == "model" and r.model_path:
            forecasts[r.name] = Forecaster.load(r.model_path).predict(history, known)[0, :, 0]
        elif r.name == best_baseline and r.name in baselines:
            forecasts[r.name] = baselines[r.name][first, :, 0]
    if not forecasts:
        return None
    show = min(len(data.values[0]), H + max(H, 6))  # as much context before the origin as the fold is long
    which = f" — series '{data.ids[0]}' (1 of {data.n_series})" if data.id_col else ""
    return Overlay(
        list(data.times[0][-show:]),
        data.values[0][-show:, 0],
        show - H - 1,
        forecasts,
        f"{data.targets[0]}: the last fold's actual values and forecasts (best baseline dotted){which}",
    )
