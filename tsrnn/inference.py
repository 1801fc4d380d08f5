"""Deprecated alias: `Forecaster` lives in `tsrnn.runtime` (import it as `from tsrnn.runtime import Forecaster`)."""

from __future__ import annotations

import warnings

from tsrnn.runtime.inference import Forecaster

warnings.warn("tsrnn.inference is deprecated; import Forecaster from tsrnn.runtime", DeprecationWarning, stacklevel=2)

__all__ = ["Forecaster"]
