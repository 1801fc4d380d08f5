"""Comparing variants: the rolling backtest of every variant, the leaderboard, the honest winner, ensembles.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.compare.ensemble import check_ensemble
    from tsrnn.compare.request import CompareRequest
    from tsrnn.compare.run import (
        CompareProgress,
        Leaderboard,
        Row,
        Variant,
        budget_words,
        format_rows,
        format_text,
        parse_variants,
        run_compare,
    )

_FACE = {
    "CompareProgress": "tsrnn.compare.run",
    "CompareRequest": "tsrnn.compare.request",
    "Leaderboard": "tsrnn.compare.run",
    "Row": "tsrnn.compare.run",
    "Variant": "tsrnn.compare.run",
    "budget_words": "tsrnn.compare.run",
    "check_ensemble": "tsrnn.compare.ensemble",
    "format_rows": "tsrnn.compare.run",
    "format_text": "tsrnn.compare.run",
    "parse_variants": "tsrnn.compare.run",
    "run_compare": "tsrnn.compare.run",
}

__all__ = [
    "CompareProgress",
    "CompareRequest",
    "Leaderboard",
    "Row",
    "Variant",
    "budget_words",
    "check_ensemble",
    "format_rows",
    "format_text",
    "parse_variants",
    "run_compare",
]


__getattr__ = lazy_face(__name__, _FACE)
