"""The check every exported file passes before it is kept: ONNX Runtime's outputs against the source it was
written from (a trained network, a baseline's numpy forecast), at batch 1 and at a batch of 64 or more."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tsrnn.core.errors import ExportError

TOLERANCE = 1e-4
"""Largest accepted |ORT - source| relative to max(1, |output|)."""
PARITY_BATCH = 64
"""The larger batch of the check (or every window, when there are more)."""


def check_parity(
    path: Path,
    windows: int,
    run: Callable[[Any, int], dict[str, tuple[np.ndarray, np.ndarray]]],
    source: str,
    returned: Callable[[str], str],
) -> dict[str, Any]:
    """Open `path` in ONNX Runtime on the CPU and compare at batch 1 and at max(PARITY_BATCH, `windows`):
    `run(session, n)` gives each output's (ONNX Runtime, source) pair. A shape that differs or a relative
    difference above TOLERANCE is an ExportError naming `source` (and `returned(name)`, what the file gave)."""
    # Here, not at the top: loads ONNX Runtime, which importing the baseline graphs (compare's winner) does not.
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst_abs, worst_rel = 0.0, 0.0
    batches = (1, max(PARITY_BATCH, windows))
    for n in batches:
        for name, (got, want) in run(session, n).items():
            if got.shape != want.shape:
                raise ExportError(f"{returned(name)} of shape {got.shape} at batch {n}, expected {want.shape}")
            diff = float(np.max(np.abs(got - want)))
            worst_abs = max(worst_abs, diff)
            worst_rel = max(worst_rel, diff / max(1.0, float(np.max(np.abs(want)))))
    if not worst_rel <= TOLERANCE:
        raise ExportError(
            f"ONNX Runtime differs from {source} by {worst_abs:.3g} (relative {worst_rel:.3g}, tolerance "
            f"{TOLERANCE}); the model was not saved"
        )
    return {"abs": worst_abs, "rel": worst_rel, "batches": batches}
