"""Statistical reference forecasts on tsrnn's own backtest folds (statsforecast; `tsrnn.compare.references`, the code of
`compare --reference`).

MSTL (multiple seasonal-trend decomposition, AutoETS on the trend) is the reference ANCHORS.md gives for
half-hourly demand; scoring it on the very folds, MASE scale and season tsrnn's compare uses makes the two
directly comparable.
"""

from __future__ import annotations

import importlib.util

from tsrnn.compare.references import reference_rows
from tsrnn.data.loader import SeriesSet
from tsrnn.evaluate.backtest import make_folds


def mstl_mase(
    data: SeriesSet, input_len: int, horizon: int, folds: int, season: int, seasons: tuple[int, ...]
) -> float | None:
    """MSTL's MASE averaged over the folds; None when statsforecast is not installed or no season fits."""
    if importlib.util.find_spec("statsforecast") is None:
        return None
    rows, _ = reference_rows(("mstl",), make_folds(data, input_len, horizon, folds), seasons, season)
    return rows[0].metrics["mase"] if rows else None
