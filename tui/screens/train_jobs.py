"""What the Train screen's workers run off the UI thread: training, with its progress thinned to what the screen
can show, and the INT8 copy of an exported model with its drift from the float model."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tsrnn.core.errors import TsrnnError
from tsrnn.core.extras import needs_extras

if TYPE_CHECKING:
    from tsrnn.core.config import ModelConfig, TrainConfig
    from tsrnn.data.loader import SeriesSet
    from tsrnn.experiment.pipeline import Experiment
    from tsrnn.export.quantize import Drift
    from tsrnn.model.train import EpochInfo

UPDATE_EVERY_S = 0.12

Quantization = tuple["Drift | None", "tuple[str, str] | None", "str | None"]
"""The INT8 copy's drift, or (title, message) saying why there is none, and a note on what could not be measured."""


def train_with_progress(
    data: SeriesSet,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    report: Callable[[EpochInfo, list[float], list[float]], None],
    should_stop: Callable[[], bool],
    try_seasons: tuple[int, ...] = (),
    on_choice: Callable[[str], None] | None = None,
) -> Experiment:
    """Train (raises TsrnnError); `report` gets an epoch and the loss histories so far, at most ~8 times a second
    and always for the last epoch. `try_seasons` are first tried in two brief trainings (with and without) and
    kept when the validation block says they help (`tsrnn.experiment.season_choice`); `on_choice` gets the
    verdict in one line."""
    from dataclasses import replace

    from tsrnn.experiment.pipeline import train_experiment
    from tsrnn.experiment.season_choice import choose_seasons, probe_seconds

    train: list[float] = []
    val: list[float] = []
    last_post = 0.0

    def on_epoch(info: EpochInfo) -> None:
        nonlocal last_post
        train.append(info.train_loss)
        val.append(info.val_loss)
        # Short epochs (tens of ms) would redraw the plot faster than anyone reads it and keep the
        # event loop busy; at most ~8 updates a second leaves it free for keys.
        now = time.perf_counter()
        if now - last_post >= UPDATE_EVERY_S or info.epoch == info.epochs:
            last_post = now
            report(info, list(train), list(val))

    with needs_extras("Training"):
        if try_seasons:
            seconds = probe_seconds(train_cfg.time_limit)
            choice = choose_seasons(data, model_cfg, train_cfg, try_seasons, seconds, should_stop=should_stop)
            model_cfg = replace(model_cfg, seasons=choice.seasons)
            if on_choice is not None:
                on_choice(choice.describe(data.freq))
        return train_experiment(data, model_cfg, train_cfg, on_epoch=on_epoch, should_stop=should_stop)


def quantize_copy(float_path: Path, csv: Path) -> Quantization:
    """Write the INT8 copy of `float_path` and measure it against the float model on `csv` (takes seconds)."""
    from tsrnn.export.quantize import measure_drift, quantize_model

    try:
        int8_path = quantize_model(float_path)
    except TsrnnError as exc:
        return None, ("INT8 copy failed", exc.message), None
    except OSError as exc:
        where = exc.filename or float_path
        return None, ("INT8 copy failed", f"cannot write the INT8 copy of {where}: {exc.strerror or exc}"), None
    try:
        return measure_drift(float_path, int8_path, csv), None, None
    except (TsrnnError, OSError) as exc:
        note = f"not scored on {csv.name}: {_why(exc)}"
    try:  # the CSV could not be read again: still report sizes and quantized ops
        return measure_drift(float_path, int8_path, None), None, note
    except (TsrnnError, OSError) as exc:
        return None, ("INT8 copy unreadable", f"{int8_path}: {_why(exc)}"), None


def _why(exc: TsrnnError | OSError) -> str:
    return exc.message if isinstance(exc, TsrnnError) else (exc.strerror or str(exc))
