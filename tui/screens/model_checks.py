"""The Model screen's checks that go beyond one field's text (each config's own rules, the window against the
data, the calendar inputs and future columns), and the configs and data it hands to training."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tsrnn.core.config import ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError

from ..text import for_tui
from .model_fields import FIELDS

if TYPE_CHECKING:
    from tsrnn.data.loader import SeriesSet
    from tsrnn.timeline.known import KnownSpec

KnownCheck = tuple["KnownSpec | None", "tuple[str, str] | None"]
"""The calendar inputs for the data, or the field that is wrong and why."""


def training_threads() -> int:
    """Leave one core to the UI: torch spinning on every core made epochs ~100x slower under load."""
    return max(1, (os.cpu_count() or 1) - 1)


def config_errors(values: dict[str, Any], errors: dict[str, str]) -> None:
    """Add to `errors` what ModelConfig or TrainConfig says about each field read without error."""
    for f in FIELDS:
        if f.id in errors or values.get(f.id) is None:
            continue
        try:
            if f.owner == "model":
                ModelConfig(**{f.id: values[f.id]})
            elif f.owner == "train":
                TrainConfig(**{f.id: values[f.id]})
        except ConfigError as exc:
            errors[f.id] = for_tui(exc.message)


def _window(data: SeriesSet, values: dict[str, Any]) -> tuple[int, int]:
    """The input window and horizon typed, or the data's defaults."""
    from tsrnn.experiment.pipeline import default_input_len

    horizon = values["horizon"] or data.freq.default_horizon()
    return values["input_len"] or default_input_len(data, horizon), horizon


def skip_error(data: SeriesSet, values: dict[str, Any]) -> str | None:
    """Why the seasonal skip cannot be used with this window, or None."""
    input_len, _ = _window(data, values)
    season = data.freq.season
    if not values["seasonal_skip"] or season <= input_len:
        return None
    return f"the season ({season} steps) is longer than the input window ({input_len}): widen the window"


def seasons_to_try(data: SeriesSet, values: dict[str, Any]) -> tuple[int, ...]:
    """The data's seasons that `auto` tries (none with the seasonal skip on, or a list typed)."""
    from tsrnn.experiment.season_choice import auto_candidates, beyond

    if values.get("seasons") is not None or values.get("seasonal_skip"):
        return ()
    input_len, horizon = _window(data, values)
    found = auto_candidates(data, input_len, horizon)
    return found if beyond(found, input_len) else ()


def seasons_error(data: SeriesSet, values: dict[str, Any]) -> str | None:
    """Why the seasons typed cannot be used, or None."""
    from tsrnn.experiment.pipeline import check_fit

    seasons = values.get("seasons")
    if not seasons:
        return None
    if values.get("seasonal_skip"):
        return "the seasonal skip is on: turn it off, or type auto or none"
    input_len, horizon = _window(data, values)
    problem = check_fit(data, input_len + max(seasons), horizon)
    return f"too long for the data: {problem}" if problem else None


def window_error(data: SeriesSet, values: dict[str, Any]) -> str | None:
    """Why the input window and horizon do not fit the data, or None."""
    from tsrnn.experiment.pipeline import check_fit

    input_len, horizon = _window(data, values)
    if input_len < 2:
        return "window scaling needs an input window of at least 2"
    return check_fit(data, input_len, horizon) or None


def known_key(data: SeriesSet, values: dict[str, Any]) -> tuple[str, str, str, str, str, int]:
    """What `check_known` depends on: the same key gives the same answer."""
    return (
        values["calendar"],
        values["holidays"],
        values["tz"],
        values["future"],
        f"{values['input_len']}/{values['horizon']}",
        id(data),
    )


def check_known(data: SeriesSet, values: dict[str, Any]) -> KnownCheck:
    """The calendar inputs for the loaded data, or the field that is wrong and why."""
    from tsrnn.timeline.known import choose_known

    field = "calendar"
    try:
        from tsrnn.timeline.calendar import check_zone, parse_calendar

        if values["tz"]:
            field = "tz"
            check_zone(values["tz"])
        field = "calendar"
        parse_calendar(values["calendar"] or "auto", data.freq)
        field = "future"
        future = future_columns(data, values["future"])
        field = "holidays"
        input_len, _ = _window(data, values)
        spec = choose_known(
            data.freq,
            data.times,
            values["calendar"] or "auto",
            values["holidays"] or None,
            values["tz"] or None,
            future,
            input_len,
        )
        return spec, None
    except ConfigError as exc:
        return None, (field, for_tui(exc.message))


def future_columns(data: SeriesSet, text: str) -> tuple[str, ...]:
    """The --future columns typed, checked against the data file's columns."""
    from tsrnn.data.csvio import read_header

    names = tuple(dict.fromkeys(c.strip() for c in text.replace(" ", ",").split(",") if c.strip()))
    if not names:
        return ()
    header = read_header(data.path)
    for c in names:
        if c not in header:
            raise ConfigError(f"no column '{c}'; columns are {', '.join(header)}")
        if c in data.targets or c in (data.time_col, data.id_col):
            raise ConfigError(f"'{c}' is a target, time or id column; future columns are other numeric columns")
    return names


def build_configs(data: SeriesSet, values: dict[str, Any], known: KnownSpec | None) -> tuple[ModelConfig, TrainConfig]:
    """The two configs from fields that all read and checked without error."""
    from tsrnn.experiment.pipeline import model_config

    mc = model_config(
        data,
        input_len=values["input_len"],
        horizon=values["horizon"],
        cell=values["cell"],
        hidden_size=values["hidden_size"],
        num_layers=values["num_layers"],
        bidirectional=values["bidirectional"],
        dropout=values["dropout"],
        quantiles=values["quantiles"],
        highway=values["highway"],
        seasonal_skip=data.freq.season if values["seasonal_skip"] else 0,
        seasons=values["seasons"] or (),  # auto (None): tried by the training, `seasons_to_try`
    )
    mc = replace(mc, n_known=known.n if known is not None else 0)
    tc = TrainConfig(
        epochs=values["epochs"],
        batch_size=values["batch_size"],
        lr=values["lr"],
        patience=values["patience"],
        seed=values["seed"],
        device=values["device"],
        threads=training_threads(),
        time_limit=values["time_limit"],
    )
    return mc, tc


def with_future(data: SeriesSet, future: tuple[str, ...]) -> SeriesSet:
    """The same file read again with `future` loaded beside the values (they leave the input features)."""
    from tsrnn.core.config import DataConfig
    from tsrnn.data.loader import load_series

    return load_series(
        data.path,
        DataConfig(
            time_col=data.time_col,
            id_col=data.id_col,
            targets=tuple(data.targets),
            features=tuple(c for c in data.features if c not in future),
            future=future,
            sessions=data.freq.sessions or "none",
        ),
    )
