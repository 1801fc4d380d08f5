"""Training (torch): the recurrent networks, the unrolled export form, the training loop and its workspace.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.model.networks import RecurrentForecaster, split_inputs
    from tsrnn.model.train import (
        EpochInfo,
        ProgressFn,
        StopFn,
        TrainResult,
        device_fallback,
        epoch_steps,
        fit,
        make_loss,
        predict_outputs,
        resolve_device,
        set_threads,
    )
    from tsrnn.model.unrolled import UnrolledRecurrence

_FACE = {
    "EpochInfo": "tsrnn.model.train",
    "ProgressFn": "tsrnn.model.train",
    "RecurrentForecaster": "tsrnn.model.networks",
    "StopFn": "tsrnn.model.train",
    "TrainResult": "tsrnn.model.train",
    "UnrolledRecurrence": "tsrnn.model.unrolled",
    "device_fallback": "tsrnn.model.train",
    "epoch_steps": "tsrnn.model.train",
    "fit": "tsrnn.model.train",
    "make_loss": "tsrnn.model.train",
    "predict_outputs": "tsrnn.model.train",
    "resolve_device": "tsrnn.model.train",
    "set_threads": "tsrnn.model.train",
    "split_inputs": "tsrnn.model.networks",
}

__all__ = [
    "EpochInfo",
    "ProgressFn",
    "RecurrentForecaster",
    "StopFn",
    "TrainResult",
    "UnrolledRecurrence",
    "device_fallback",
    "epoch_steps",
    "fit",
    "make_loss",
    "predict_outputs",
    "resolve_device",
    "set_threads",
    "split_inputs",
]


__getattr__ = lazy_face(__name__, _FACE)
