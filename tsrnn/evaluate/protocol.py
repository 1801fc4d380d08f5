"""How a comparison or a search scored its models: one record that compare's leaderboard, tune's results, their
Markdown and JSON files and the model files' metadata carry. Standard library only.

A comparison and a search record some fields each and the fields they share; `as_dict` writes the fields of its
`run` in the order the files have always had them, so that files written before and after read the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsrnn.core.config import ModelConfig, TrainConfig
    from tsrnn.data.loader import SeriesSet


@dataclass(frozen=True)
class Protocol:
    """The folds, the data, the shared model and training settings and how the run went."""

    run: str
    """Which run recorded it: 'compare' or 'tune' (not written: the file it is in says so)."""
    data: str
    """The data file's name."""
    series: int
    frequency: str
    season: int
    """The season that scales MASE."""
    horizon: int
    folds: int
    scaling: str
    quantiles: tuple[float, ...]
    training: str
    """How the models were trained against the folds, in words."""
    epochs: int
    patience: int
    batch_size: int
    seed: int
    budget_s: float | None
    """The time budget in seconds (None: no limit)."""
    calendar: str
    """The calendar inputs, in words."""
    # compare only
    input_len: int = 0
    refit: bool = False
    hidden_size: int = 0
    lr: float = 0.0
    windows_per_epoch: int | None = None
    estimate: str | None = None
    """The run's estimate, made from a warm-up before the first training (None without a budget)."""
    skipped: tuple[str, ...] = ()
    """The variants not trained because the budget was spent."""
    unscored_fold_windows: int = 0
    seasons: tuple[int, ...] = ()
    """The data's seasons that the seasonal-naive rows forecast."""
    baseline_seasons: tuple[int, ...] = ()
    season_choice: dict[str, Any] | None = None
    """The networks' seasons as two brief trainings chose them (`SeasonChoice.to_dict`; None: as asked)."""
    references: dict[str, Any] | None = None
    """What the statistical references recorded, by name (None: none were asked for)."""
    best_retrained: bool = True
    """False when no time was left to retrain the best network: its backtest model was exported."""
    ensemble_members: tuple[str, ...] | None = None
    """The variants of compare's ensemble row, once it is built."""
    elapsed_s: float | None = None
    """Seconds the comparison took, with a deadline."""
    # tune only
    search: dict[str, Any] | None = None
    """The space searched."""
    sampler: str = ""
    pruner: str = ""
    trials: int | None = None
    """Trials asked for (None: until the budget ends)."""
    # both
    ensemble: int = 0
    """The ensemble size asked for (0: none)."""
    ensemble_method: str = "mean"
    interrupted: str | None = None
    """'interrupted after 2 of 7 variants: ...' when a stop request or Ctrl+C ended the run early."""

    @classmethod
    def of(
        cls, run: str, data: SeriesSet, base: ModelConfig, train_cfg: TrainConfig, season: int, folds: int, **own: Any
    ) -> Protocol:
        """The fields every run records, read from its data and its model and training settings; `own`, the
        rest (`training`, `budget_s` and the run's own fields)."""
        return cls(
            run=run,
            data=data.path.name,
            series=data.n_series,
            frequency=data.freq.label,
            season=season,
            horizon=base.horizon,
            folds=folds,
            scaling=base.scaling,
            quantiles=tuple(base.quantiles),
            epochs=train_cfg.epochs,
            patience=train_cfg.patience,
            batch_size=train_cfg.batch_size,
            seed=train_cfg.seed,
            calendar=data.known_spec.describe(),
            **own,
        )

    def as_dict(self) -> dict[str, Any]:
        """The record as the files hold it: JSON values, the run's fields in their order."""
        if self.run == "compare":
            out = {key: _plain(getattr(self, key)) for key in COMPARE_FIELDS}
            if self.season_choice is not None:
                out["season_choice"] = self.season_choice
            if self.references is not None:
                out["references"] = self.references
            if not self.best_retrained:
                out["best_retrained"] = False
        else:
            out = {key: _plain(getattr(self, key)) for key in TUNE_FIELDS}
        if self.interrupted is not None:
            out["interrupted"] = self.interrupted
        if self.run == "compare" and self.ensemble_members is not None:
            out["ensemble"] = {"k": self.ensemble, "method": self.ensemble_method, "members": [*self.ensemble_members]}
        if self.run == "compare" and self.elapsed_s is not None:
            out["elapsed_s"] = self.elapsed_s
        return out


COMPARE_FIELDS = (
    "data",
    "series",
    "frequency",
    "season",
    "input_len",
    "horizon",
    "folds",
    "refit",
    "hidden_size",
    "scaling",
    "quantiles",
    "epochs",
    "patience",
    "batch_size",
    "lr",
    "seed",
    "budget_s",
    "windows_per_epoch",
    "estimate",
    "skipped",
    "training",
    "calendar",
    "unscored_fold_windows",
    "seasons",
    "baseline_seasons",
)
"""What a comparison always records, in the order of its files (then, when they apply: season_choice, references,
best_retrained, interrupted, ensemble, elapsed_s)."""

TUNE_FIELDS = (
    "data",
    "series",
    "frequency",
    "season",
    "horizon",
    "folds",
    "scaling",
    "quantiles",
    "training",
    "search",
    "sampler",
    "pruner",
    "trials",
    "budget_s",
    "epochs",
    "patience",
    "batch_size",
    "seed",
    "ensemble",
    "ensemble_method",
    "calendar",
)
"""What a search always records, in the order of its files (then interrupted, when it was)."""


def _plain(value: Any) -> Any:
    """Tuples as lists, as JSON reads them back."""
    return [*value] if isinstance(value, tuple) else value
