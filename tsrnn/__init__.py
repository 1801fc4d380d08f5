"""tsrnn: recurrent-network forecasting from a CSV to one self-contained ONNX file."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
