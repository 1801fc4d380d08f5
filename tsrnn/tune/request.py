"""What a search is asked to run: one frozen record that the command line (`tsrnn.cli.tune`) and the terminal UI
both build for `tsrnn.tune.run.run_tune`. Standard library only, so that building one loads nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tsrnn.core.budget import Deadline
    from tsrnn.core.config import ModelConfig, TrainConfig
    from tsrnn.data.loader import SeriesSet


@dataclass(frozen=True)
class TuneRequest:
    """The search to run on one series set, and its limits (`run_tune` says what each choice does)."""

    data: SeriesSet
    base: ModelConfig
    """The model settings every trial shares (horizon, scaling, quantiles); the search sets the rest."""
    train_cfg: TrainConfig
    """Each trial's training (epochs, patience, batch size, seed: the sampler's seed too)."""
    trials: int | None = None
    """Most trials to run (None: 20 without a budget, else until the budget ends)."""
    budget: float | Deadline | None = None
    """Seconds for the whole search, or a Deadline already counting (None: no limit)."""
    variants: str | None = None
    """The cells and directions searched, e.g. 'gru,bilstm' (None: all six)."""
    folds: int = 3
    ensemble: int = 0
    """K >= 2: also the ensemble of the best K trials."""
    ensemble_method: str = "mean"
    season: int | None = None
    """The season that scales MASE (None: the frequency's)."""
    out_dir: Path | None = None
    """The tables' and models' folder (None: a free exports/tune_<data> folder)."""
    data_arg: str | None = None
    """The data as the user named it, for the best trial's command line (None: the file's path)."""
    input_len: int | None = None
    """A fixed input window instead of searching it."""
    seasons: tuple[int, ...] = ()
    """The data's seasons (or those asked for), whose seasonal profile the search tries on and off."""
