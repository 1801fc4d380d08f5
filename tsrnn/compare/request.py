"""What a comparison is asked to run: one frozen record that the command line (`tsrnn.cli.compare`) and the
terminal UI both build for `tsrnn.compare.run.run_compare`. Standard library only, so that building one loads
nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tsrnn.compare.variants import Variant
    from tsrnn.core.budget import Deadline
    from tsrnn.core.config import ModelConfig, TrainConfig
    from tsrnn.data.loader import SeriesSet


@dataclass(frozen=True)
class CompareRequest:
    """The variants to backtest on one series set, and how (`run_compare` says what each choice does)."""

    data: SeriesSet
    variants: tuple[Variant, ...]
    base: ModelConfig
    """The model settings every variant shares (each variant sets its cell, direction and layers)."""
    train_cfg: TrainConfig
    folds: int = 3
    """Rolling forecast origins, one horizon apart."""
    refit: bool = False
    """Train again at each origin (else once, on the data before the first)."""
    season: int | None = None
    """The season that scales MASE (None: the frequency's)."""
    out_dir: Path | None = None
    """The leaderboard's folder (None: a free exports/compare_<data> folder)."""
    export_best: bool = True
    deadline: Deadline | None = None
    """The time budget shared among the trainings (None: no warm-up, no estimate, no limit)."""
    best: str = "auto"
    """What is exported: auto, the row with the lowest MASE (a baseline where one beats every network); network."""
    ensemble: int = 0
    """K >= 2: an ensemble of the best K variants takes its row too."""
    ensemble_method: str = "mean"
    references: tuple[str, ...] = ()
    """Statistical references ('mstl', 'ets'; statsforecast) scored on the same folds."""
    seasons: tuple[int, ...] | None = None
    """The seasonal-naive rows' seasons (None: from the frequency, kept where the data shows them)."""
    try_seasons: tuple[int, ...] | None = None
    """The data's seasons, tried in two brief trainings before the variants when --seasons was left out (None:
    `base` as it is)."""
