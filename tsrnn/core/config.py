"""Frozen settings for data, model and training, kept apart (no torch imports here)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tsrnn.core.errors import ConfigError

CELLS = ("rnn", "gru", "lstm")
CELL_NAMES = {"rnn": "Simple RNN (tanh)", "gru": "GRU", "lstm": "LSTM"}
SCALINGS = ("window", "global")
TASKS = ("forecast", "direction")
DEFAULT_VARIANTS = "rnn,gru,lstm,bigru,bilstm,gru-3,lstm-3"
"""What compare trains by default: every cell, bidirectional GRU and LSTM, 3-layer GRU and LSTM."""
VARIANT_SPEC = re.compile(r"^(bi)?(rnn|gru|lstm)(?:-(\d+))?$")
"""A compare variant: a cell, 'bi' for bidirectional, '-N' for N stacked layers (rnn, bilstm, gru-3)."""
LOSSES = ("mse", "mae", "huber")


def variant_label(name: str, layers: int = 1) -> str:
    """'bilstm' -> 'bidirectional LSTM', 'gru-3' -> 'GRU, 3 layers' (plain names have `layers` layers)."""
    m = VARIANT_SPEC.match(name)
    if not m:
        raise ConfigError(f"unknown variant '{name}': write [bi]rnn|gru|lstm[-LAYERS], e.g. gru, bilstm, lstm-3")
    n = int(m.group(3) or layers)
    if n < 1:
        raise ConfigError(f"variant '{name}': layers must be at least 1")
    return f"{'bidirectional ' if m.group(1) else ''}{CELL_NAMES[m.group(2)]}" + (f", {n} layers" if n > 1 else "")


DEVICES = ("cpu", "cuda", "auto")


@dataclass(frozen=True)
class DataConfig:
    """How to read a CSV into series."""

    time_col: str | None = None
    """Time column; found by name or by parsing when None."""
    targets: tuple[str, ...] = ()
    """Columns to forecast; the only numeric column when empty."""
    features: tuple[str, ...] | Literal["all"] = ()
    """Extra numeric columns fed to the model as inputs ("all": every other numeric column)."""
    id_col: str | None = None
    """Series id column for long-format files; found by name (id, unique_id, series) when None."""
    max_gap: int | None = None
    """Longest run of missing steps that is interpolated; longer runs are an error."""
    future: tuple[str, ...] = ()
    """Numeric columns known in advance (a promotion flag, a planned price, a weather forecast): fed to the model
    for the window and the horizon; at forecast time their horizon values come from the rows after the last
    observed target, or from a future-values file."""
    sessions: Any = "auto"
    """auto: detect a session calendar in intraday data observed only while something is open (opening hours,
    trading sessions) and keep the open slots only; none: every step of the day; or a
    `tsrnn.timeline.sessions.SessionCalendar` to lay the data on (a model's own, at forecast time)."""


PROFILE_CYCLES = 7
"""A shorter season's profile reads at most this many of its cycles (a week of days)."""


def season_lags(seasons: tuple[int, ...]) -> tuple[int, ...]:
    """The lags, ascending, from which a model with `seasons` mixes its seasonal profile: every whole cycle of
    each shorter season up to the longest season (at most PROFILE_CYCLES of them), and the longest season. A
    day and a week of half-hours (48, 336): 48, 96, ..., 336 (the same slot on each of the last seven days);
    one season m: m alone."""
    longest = seasons[-1]
    lags = {longest}
    for m in seasons[:-1]:
        lags.update(k * m for k in range(1, min(PROFILE_CYCLES, longest // m) + 1))
    return tuple(sorted(lags))


def lag_season(lag: int, seasons: tuple[int, ...]) -> int:
    """The shortest of `seasons` that divides `lag` (a step that would lie beyond the history is read that many
    steps earlier, whole cycles at a time: the last cycle repeats)."""
    return min(m for m in seasons if lag % m == 0)


@dataclass(frozen=True)
class ModelConfig:
    """The network: one recurrent stack and a direct multi-horizon head."""

    cell: str = "lstm"
    """Recurrent cell: rnn (tanh), gru or lstm."""
    hidden_size: int = 64
    """Units per layer and direction."""
    num_layers: int = 2
    """Stacked recurrent layers."""
    bidirectional: bool = False
    """Read each window forwards and backwards."""
    dropout: float = 0.0
    """Dropout between stacked layers (ignored for one layer)."""
    input_len: int = 24
    """Length of the input window, in time steps."""
    horizon: int = 12
    """Number of future steps forecast at once."""
    n_inputs: int = 1
    """Input channels: targets first, then features."""
    n_targets: int = 1
    """Forecast channels."""
    n_known: int = 0
    """Inputs known in advance for the window and the horizon (calendar features, holiday flags)."""
    scaling: str = "window"
    """window: each input window normalised by its own mean and std; global: training statistics."""
    quantiles: tuple[float, ...] = ()
    """Quantile levels to forecast with a pinball loss (empty: one point forecast)."""
    task: str = "forecast"
    """forecast: values for each horizon step; direction: probability that the next value rises."""
    highway: bool = False
    """Add a linear map from the scaled input window of each target to its horizon (an autoregressive skip
    beside the recurrent stack: it can copy the last season, the network learns what differs)."""
    seasonal_skip: int = 0
    """Season m > 0: add the window's last season, repeated over the horizon, to the network's output (a fixed
    seasonal-naive forecast in scaled units; the network learns only what differs from it). 0: off. Kept for
    older settings: the same as `seasons=(m,)`, which it sets when `seasons` is empty."""
    seasons: tuple[int, ...] = ()
    """Seasons in steps, ascending (48, 336: a day and a week of half-hours), of any length. The model reads the
    value at each of its `season_lags` before every step of its window and of its horizon, and mixes them by
    learned weights into a seasonal profile; the network reads the window less its profile and forecasts what
    the profile of the horizon misses. The model then reads `history_len` steps of history (the window and the
    longest lag before it), the network still only the last `input_len`. Alone with `seasonal_skip` equal to it,
    one season is the older fixed skip instead."""

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError(f"unknown cell '{self.cell}': choose one of {', '.join(CELLS)}")
        if self.scaling not in SCALINGS:
            raise ConfigError(f"unknown scaling '{self.scaling}': choose one of {', '.join(SCALINGS)}")
        _positive("hidden size", self.hidden_size)
        _positive("layers", self.num_layers)
        _positive("input length", self.input_len)
        _positive("horizon", self.horizon)
        if not isinstance(self.n_known, int) or self.n_known < 0:
            raise ConfigError(f"known inputs must be a whole number of at least 0, got {self.n_known}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.input_len < 2 and self.scaling == "window":
            raise ConfigError("window scaling needs an input length of at least 2")
        if self.task not in TASKS:
            raise ConfigError(f"unknown task '{self.task}': choose one of {', '.join(TASKS)}")
        q = self.quantiles
        if any(not 0 < x < 1 for x in q) or list(q) != sorted(set(q)):
            raise ConfigError(f"quantiles must be distinct, increasing and between 0 and 1, got {list(q)}")
        if self.task == "direction" and self.highway:
            raise ConfigError("the direction task has no linear highway: leave --highway off")
        if not isinstance(self.seasonal_skip, int) or self.seasonal_skip < 0:
            raise ConfigError(
                f"the seasonal skip must be a season of at least 1 step (or 0: off), got {self.seasonal_skip}"
            )
        seasons = self.seasons
        if not isinstance(seasons, tuple) or any(not isinstance(m, int) or m < 1 for m in seasons):
            raise ConfigError(f"seasons must be whole numbers of steps of at least 1, got {seasons!r}")
        if list(seasons) != sorted(set(seasons)):
            raise ConfigError(f"seasons must be distinct and ascending, got {list(seasons)}")
        if self.seasonal_skip and not seasons:
            object.__setattr__(self, "seasons", (self.seasonal_skip,))
        elif self.seasonal_skip and self.seasonal_skip not in seasons:
            raise ConfigError(
                f"the seasonal skip {self.seasonal_skip} is one season: add it to the seasons {list(seasons)} "
                "or leave it off"
            )
        if self.task == "direction" and self.seasons:
            raise ConfigError("the direction task has no seasonal path: leave --seasons and --seasonal-skip off")
        if self.task == "direction" and (self.horizon != 1 or self.n_targets != 1 or q):
            raise ConfigError("the direction task predicts one step of one target, without quantiles")

    @property
    def season_lags(self) -> tuple[int, ...]:
        """The lags of the seasonal profile (`season_lags`); () without seasons or for the older fixed skip."""
        if not self.seasons or self.seasons == (self.seasonal_skip,):
            return ()
        return season_lags(self.seasons)

    @property
    def history_len(self) -> int:
        """Steps of history the model reads: its input window and its longest season lag before it; for the
        older fixed skip, its window, or its season when that is longer."""
        if self.season_lags:
            return self.input_len + self.season_lags[-1]
        return max(self.input_len, *self.seasons) if self.seasons else self.input_len

    @property
    def point_quantile(self) -> int:
        """Index of the quantile used as the point forecast (the one nearest the median)."""
        return min(range(len(self.quantiles)), key=lambda i: abs(self.quantiles[i] - 0.5))

    @property
    def output_names(self) -> list[str]:
        if self.task == "direction":
            return ["probability"]
        return ["forecast", "quantiles"] if self.quantiles else ["forecast"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """The optimiser and its stopping rules."""

    epochs: int = 100
    """Upper bound on passes over the training windows."""
    batch_size: int = 32
    """Windows per optimiser step."""
    lr: float = 1e-3
    """Adam learning rate."""
    patience: int = 15
    """Epochs without validation improvement before stopping (the LR is halved after patience // 2)."""
    seed: int = 0
    """Seeds torch and the shuffling: same seed, same data, same model on CPU."""
    device: str = "cpu"
    """cpu, cuda or auto (cuda when available)."""
    loss: str = "mse"
    """Training loss on scaled values: mse, mae or huber."""
    clip_norm: float = 1.0
    """Gradient-norm clipping threshold."""
    weight_decay: float = 0.0
    """Adam weight decay."""
    threads: int | None = None
    """torch intra-op threads; None uses the number of cores."""
    time_limit: float | None = None
    """Seconds training may run (None: no limit): the loop stops when they are spent, within the epoch, and keeps
    the best weights (`tsrnn.experiment.plan` turns a --budget into each training's share)."""
    windows_per_epoch: int | None = None
    """Training windows sampled (without replacement) per epoch when there are more (None: every window)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _positive("epochs", self.epochs)
        _positive("batch size", self.batch_size)
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be positive, got {self.lr}")
        if self.patience < 1:
            raise ConfigError(f"patience must be at least 1, got {self.patience}")
        if self.device not in DEVICES:
            raise ConfigError(f"unknown device '{self.device}': choose one of {', '.join(DEVICES)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss '{self.loss}': choose one of {', '.join(LOSSES)}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ConfigError(f"time limit must be more than 0 seconds, got {self.time_limit}")
        if self.windows_per_epoch is not None:
            _positive("windows per epoch", self.windows_per_epoch)


def _positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value}")
