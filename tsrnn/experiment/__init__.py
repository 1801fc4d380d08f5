"""One experiment: a model trained, scored and exported (the pipeline), and the training plan.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.experiment.pipeline import (
        EXPORT_DIR,
        Experiment,
        check_fit,
        default_input_len,
        gap_note,
        model_config,
        train_experiment,
        validate,
        variant_name,
    )
    from tsrnn.experiment.plan import plan_run, plan_training

_FACE = {
    "EXPORT_DIR": "tsrnn.experiment.pipeline",
    "Experiment": "tsrnn.experiment.pipeline",
    "check_fit": "tsrnn.experiment.pipeline",
    "default_input_len": "tsrnn.experiment.pipeline",
    "gap_note": "tsrnn.experiment.pipeline",
    "model_config": "tsrnn.experiment.pipeline",
    "plan_run": "tsrnn.experiment.plan",
    "plan_training": "tsrnn.experiment.plan",
    "train_experiment": "tsrnn.experiment.pipeline",
    "validate": "tsrnn.experiment.pipeline",
    "variant_name": "tsrnn.experiment.pipeline",
}

__all__ = [
    "EXPORT_DIR",
    "Experiment",
    "check_fit",
    "default_input_len",
    "gap_note",
    "model_config",
    "plan_run",
    "plan_training",
    "train_experiment",
    "validate",
    "variant_name",
]


__getattr__ = lazy_face(__name__, _FACE)
