"""The hyper-parameter search (Optuna): the space, the trials, the loop and the results.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.tune.request import TuneRequest
    from tsrnn.tune.run import Trial, TuneProgress, TuneResult, format_text, run_tune, tune_variants

_FACE = {
    "Trial": "tsrnn.tune.run",
    "TuneProgress": "tsrnn.tune.run",
    "TuneRequest": "tsrnn.tune.request",
    "TuneResult": "tsrnn.tune.run",
    "format_text": "tsrnn.tune.run",
    "run_tune": "tsrnn.tune.run",
    "tune_variants": "tsrnn.tune.run",
}

__all__ = [
    "Trial",
    "TuneProgress",
    "TuneRequest",
    "TuneResult",
    "format_text",
    "run_tune",
    "tune_variants",
]


__getattr__ = lazy_face(__name__, _FACE)
