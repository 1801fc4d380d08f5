"""Statistical reference forecasts on tsrnn's own backtest folds (statsforecast; benchmark only, never tsrnn).

MSTL (multiple seasonal-trend decomposition, AutoETS on the trend) is the reference ANCHORS.md gives for
half-hourly demand; scoring it on the very folds, MASE scale and season tsrnn's compare uses makes the two
directly comparable.
"""

from __future__ import annotations

import numpy as np

from tsrnn.data.loader import SeriesSet
from tsrnn.evaluate.backtest import fold_scores, make_folds, summarise


def mstl_mase(
    data: SeriesSet, input_len: int, horizon: int, folds: int, season: int, seasons: list[int]
) -> float | None:
    """MSTL's MASE averaged over the folds; None when statsforecast is not installed."""
    try:
        from statsforecast.models import MSTL
    except ImportError:
        return None
    f = make_folds(data, input_len, horizon, folds)
    forecasts = []
    for y in f.insample:
        model = MSTL(season_length=seasons).fit(np.asarray(y[:, 0], dtype=np.float64))
        forecasts.append(model.predict(h=horizon)["mean"][:, None])
    return summarise(fold_scores(f, np.stack(forecasts), season))["mase"]
