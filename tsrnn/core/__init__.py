"""The ground floor: errors, configuration, paths, optional extras, budgets, safe file writes, stop signals.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.core.budget import COMPARE_DEFAULTS, Deadline, format_seconds, parse_budget, parse_optional_budget
    from tsrnn.core.config import (
        CELL_NAMES,
        CELLS,
        DEFAULT_VARIANTS,
        DEVICES,
        LOSSES,
        SCALINGS,
        TASKS,
        VARIANT_SPEC,
        DataConfig,
        ModelConfig,
        TrainConfig,
        variant_label,
    )
    from tsrnn.core.errors import ConfigError, DataError, ExportError, ModelFileError, TrainingError, TsrnnError
    from tsrnn.core.extras import needs_extras, require
    from tsrnn.core.interrupt import DEFAULT_TIMEOUT, StopNow, Stopped, StopSignals, guarded, parse_timeout
    from tsrnn.core.messages import ROW_LABELS, describe_lines, shorten
    from tsrnn.core.paths import (
        EXPORT_DIR,
        compare_dir,
        copy_model,
        default_folder,
        free_path,
        kept_words,
        tune_dir,
        winner_path,
    )
    from tsrnn.core.safeio import atomic_write, check_out_dir, check_out_path

_FACE = {
    "CELLS": "tsrnn.core.config",
    "CELL_NAMES": "tsrnn.core.config",
    "COMPARE_DEFAULTS": "tsrnn.core.budget",
    "ConfigError": "tsrnn.core.errors",
    "DEFAULT_TIMEOUT": "tsrnn.core.interrupt",
    "DEFAULT_VARIANTS": "tsrnn.core.config",
    "DEVICES": "tsrnn.core.config",
    "DataConfig": "tsrnn.core.config",
    "DataError": "tsrnn.core.errors",
    "Deadline": "tsrnn.core.budget",
    "EXPORT_DIR": "tsrnn.core.paths",
    "ExportError": "tsrnn.core.errors",
    "LOSSES": "tsrnn.core.config",
    "ModelConfig": "tsrnn.core.config",
    "ModelFileError": "tsrnn.core.errors",
    "ROW_LABELS": "tsrnn.core.messages",
    "SCALINGS": "tsrnn.core.config",
    "StopNow": "tsrnn.core.interrupt",
    "StopSignals": "tsrnn.core.interrupt",
    "Stopped": "tsrnn.core.interrupt",
    "TASKS": "tsrnn.core.config",
    "TrainConfig": "tsrnn.core.config",
    "TrainingError": "tsrnn.core.errors",
    "TsrnnError": "tsrnn.core.errors",
    "VARIANT_SPEC": "tsrnn.core.config",
    "atomic_write": "tsrnn.core.safeio",
    "check_out_dir": "tsrnn.core.safeio",
    "check_out_path": "tsrnn.core.safeio",
    "compare_dir": "tsrnn.core.paths",
    "copy_model": "tsrnn.core.paths",
    "default_folder": "tsrnn.core.paths",
    "describe_lines": "tsrnn.core.messages",
    "format_seconds": "tsrnn.core.budget",
    "free_path": "tsrnn.core.paths",
    "guarded": "tsrnn.core.interrupt",
    "kept_words": "tsrnn.core.paths",
    "needs_extras": "tsrnn.core.extras",
    "parse_budget": "tsrnn.core.budget",
    "parse_optional_budget": "tsrnn.core.budget",
    "parse_timeout": "tsrnn.core.interrupt",
    "require": "tsrnn.core.extras",
    "shorten": "tsrnn.core.messages",
    "tune_dir": "tsrnn.core.paths",
    "variant_label": "tsrnn.core.config",
    "winner_path": "tsrnn.core.paths",
}

__all__ = [
    "CELLS",
    "CELL_NAMES",
    "COMPARE_DEFAULTS",
    "DEFAULT_TIMEOUT",
    "DEFAULT_VARIANTS",
    "DEVICES",
    "EXPORT_DIR",
    "LOSSES",
    "ROW_LABELS",
    "SCALINGS",
    "TASKS",
    "VARIANT_SPEC",
    "ConfigError",
    "DataConfig",
    "DataError",
    "Deadline",
    "ExportError",
    "ModelConfig",
    "ModelFileError",
    "StopNow",
    "StopSignals",
    "Stopped",
    "TrainConfig",
    "TrainingError",
    "TsrnnError",
    "atomic_write",
    "check_out_dir",
    "check_out_path",
    "compare_dir",
    "copy_model",
    "default_folder",
    "describe_lines",
    "format_seconds",
    "free_path",
    "guarded",
    "kept_words",
    "needs_extras",
    "parse_budget",
    "parse_optional_budget",
    "parse_timeout",
    "require",
    "shorten",
    "tune_dir",
    "variant_label",
    "winner_path",
]


__getattr__ = lazy_face(__name__, _FACE)
