"""Scoring: forecast metrics, the baselines, the rolling-origin backtest and the record of how a run scored.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.evaluate.backtest import (
        Folds,
        baseline_forecasts,
        fold_interval_scores,
        fold_scores,
        make_folds,
        summarise,
    )
    from tsrnn.evaluate.metrics import (
        METRICS,
        baselines,
        direction_scores,
        evaluate,
        format_table,
        interval_scores,
        mase_scale,
        score_table,
    )
    from tsrnn.evaluate.protocol import Protocol

_FACE = {
    "Folds": "tsrnn.evaluate.backtest",
    "METRICS": "tsrnn.evaluate.metrics",
    "Protocol": "tsrnn.evaluate.protocol",
    "baseline_forecasts": "tsrnn.evaluate.backtest",
    "baselines": "tsrnn.evaluate.metrics",
    "direction_scores": "tsrnn.evaluate.metrics",
    "evaluate": "tsrnn.evaluate.metrics",
    "fold_interval_scores": "tsrnn.evaluate.backtest",
    "fold_scores": "tsrnn.evaluate.backtest",
    "format_table": "tsrnn.evaluate.metrics",
    "interval_scores": "tsrnn.evaluate.metrics",
    "make_folds": "tsrnn.evaluate.backtest",
    "mase_scale": "tsrnn.evaluate.metrics",
    "score_table": "tsrnn.evaluate.metrics",
    "summarise": "tsrnn.evaluate.backtest",
}

__all__ = [
    "METRICS",
    "Folds",
    "Protocol",
    "baseline_forecasts",
    "baselines",
    "direction_scores",
    "evaluate",
    "fold_interval_scores",
    "fold_scores",
    "format_table",
    "interval_scores",
    "make_folds",
    "mase_scale",
    "score_table",
    "summarise",
]


__getattr__ = lazy_face(__name__, _FACE)
