"""Inputs known in advance: which calendar features and holiday flags a model reads, and their values for any
timestamps (numpy only: the forecaster computes them from the model's metadata, never from a second file)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tsrnn.timeline.calendar import (
    HolidayCalendar,
    build_holidays,
    calendar_columns,
    calendar_features,
    check_zone,
    holiday_years,
    parse_calendar,
)

if TYPE_CHECKING:
    from tsrnn.timeline.timefreq import Frequency


@dataclass(frozen=True)
class KnownSpec:
    """The known inputs of a model: calendar features (sin/cos pairs), then holiday flags."""

    calendar: tuple[str, ...] = ()
    holidays: HolidayCalendar | None = None
    tz: str | None = None
    """The data's time zone (--tz): UTC timestamps are converted to its wall clock; naive timestamps are taken
    as its local times already, as written (None: every timestamp as written)."""
    future: tuple[str, ...] = ()
    """The user's own known-in-advance columns (--future), after the calendar's."""
    utc: bool = True
    """Whether the timestamps are UTC instants ('Z' or an offset); with a `tz`, set from the data
    (`SeriesSet.with_known`) or the model's metadata; it matters only with a `tz`."""

    @property
    def zone(self) -> str | None:
        """The zone to convert timestamps to: `tz` for UTC instants, None for naive local times."""
        return self.tz if self.utc else None

    @property
    def columns(self) -> list[str]:
        return calendar_columns(self.calendar, self.holidays is not None) + list(self.future)

    @property
    def n_calendar(self) -> int:
        """Columns computed from the timestamps (the first ones)."""
        return len(self.columns) - len(self.future)

    @property
    def n(self) -> int:
        return len(self.columns)

    def compute(self, times: np.ndarray) -> np.ndarray:
        """(T, n_calendar) float32 for datetime64[us] timestamps: the calendar's columns (the future columns come
        from the data)."""
        if not self.n_calendar:
            return np.zeros((len(times), 0), dtype=np.float32)
        return calendar_features(times, self.calendar, self.holidays, tz=self.zone)

    def describe(self) -> str:
        """One line for the train output, inspect and the TUI."""
        if not self.n:
            return "calendar features: none"
        parts = [f"calendar features: {', '.join(self.calendar) or 'none'}" + (" (sin/cos)" if self.calendar else "")]
        if self.future:
            parts.append(f"future columns {', '.join(self.future)}")
        if self.holidays is not None:
            h = self.holidays
            parts.append(
                f"holidays {h.spec} ({len(h.dates)} dates {h.first_year}–{h.last_year}, holidays {h.package_version})"
            )
        if self.tz:
            parts.append(f"local time {self.tz}" + ("" if self.utc else " (timestamps as written)"))
        return "; ".join(parts)

    def uncovered(self, times: np.ndarray) -> np.datetime64 | None:
        """The first date past the stored holiday years (its flags read as 0), or None."""
        if self.holidays is None or not len(times):
            return None
        return self.holidays.first_date_beyond(times, self.zone)


def choose_known(
    freq: Frequency,
    times: Sequence[np.ndarray],
    calendar: str = "auto",
    holidays: str | None = None,
    tz: str | None = None,
    future: Sequence[str] = (),
    input_len: int | None = None,
) -> KnownSpec:
    """The spec for `--calendar`, `--holidays`, `--tz` and `--future` on data of this frequency and these
    timestamps; with `input_len`, `auto` leaves out the features whose cycle the window already shows."""
    if tz:
        check_zone(tz)
    names = parse_calendar(calendar, freq, input_len)
    table = build_holidays(holidays, holiday_years(times)) if holidays else None
    return KnownSpec(names, table, tz or None, tuple(future))


def window_times(last: np.ndarray, history: np.ndarray | None, horizon: int, freq: Frequency) -> np.ndarray:
    """(N, L + H) timestamps: each row's history times (N, L) and the H grid steps after its last time."""
    # Here, not at the top: loads polars, which importing this module does not.
    from tsrnn.timeline.grid import grid_times  # numpy only

    steps = np.tile(np.arange(1, horizon + 1), len(last))
    future = grid_times(np.repeat(last, horizon), steps, freq).reshape(len(last), horizon)
    if history is None:
        return future
    return np.concatenate([history, future], axis=1)
