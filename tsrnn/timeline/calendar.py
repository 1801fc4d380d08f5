"""Calendar features known in advance: cyclic encodings of the timestamp and public-holiday flags.

Each cyclic feature is a position p in a cycle of length n, encoded as the pair sin(2πp/n), cos(2πp/n):

- hour: time of day in fractional hours (seconds included), n = 24; midnight is angle 0.
- dow: day of the week, Monday = 0, n = 7.
- dom: day of the month counted from 1, n = days in that month; the last day of every month sits at angle
  2π (= 0) whatever the month's length, and the 1st follows it at 2π/n.
- doy: day of the year counted from 1, n = 365 or 366; 31 December is at angle 0 in every year.
- woy: ISO week counted from 1, n = 52 or 53 weeks in that ISO year; the last ISO week is at angle 0.
- month: month of the year, January = 0, n = 12.
- quarter: quarter of the year, Q1 = 0, n = 4.

The forecaster computes the same features for the input window and the horizon from timestamps and the model's
metadata alone: this module needs only numpy (and the standard library's zoneinfo, in `tsrnn.timeline.localtime`). The
holiday flags are `tsrnn.timeline.holidaycal`'s, re-exported here; the `holidays` package is needed only to build a
`HolidayCalendar` when training, as the model stores the holiday dates themselves.

Time zones and daylight saving: UTC timestamps (written with 'Z' or an offset) are encoded on the UTC clock
unless a `tz` (an IANA name such as "Australia/Melbourne") is given; then each instant is first converted to
local wall time, so on the day clocks go back two UTC instants share the same local hour, and on the day they go
forward a local hour never appears. Naive local timestamps are taken as wall-clock times as they stand, with or
without a `tz` (`KnownSpec` passes the zone for UTC instants only): a half-hourly local series on a
daylight-saving day repeats one wall-clock hour (which the loader refuses as duplicated timestamps) or skips one
(which the grid fills as missing steps). Features follow the wall clock, which is what the calendar means (shops
open at 09:00 local time). To keep every real instant, write UTC timestamps and pass `tz`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from tsrnn.core.errors import ConfigError
from tsrnn.timeline.holidaycal import HOLIDAY_COLUMNS
from tsrnn.timeline.holidaycal import HolidayCalendar as HolidayCalendar
from tsrnn.timeline.holidaycal import build_holidays as build_holidays
from tsrnn.timeline.holidaycal import holiday_features as holiday_features
from tsrnn.timeline.holidaycal import holiday_years as holiday_years
from tsrnn.timeline.localtime import PIECE, pieces
from tsrnn.timeline.localtime import check_zone as check_zone
from tsrnn.timeline.localtime import local_times as local_times

if TYPE_CHECKING:
    from tsrnn.timeline.timefreq import Frequency

FEATURES = ("hour", "dow", "dom", "doy", "woy", "month", "quarter")
"""Every cyclic feature, in the order their columns appear."""

_DAY = 86_400 * 1_000_000
_WEEK = 7 * _DAY
_PIECE = PIECE
"""Rows per piece of `time_features`."""


def default_calendar(freq: Frequency) -> tuple[str, ...]:
    """The features `--calendar auto` picks for a frequency.

    Fixed steps that are not whole days (seconds, minutes, hours): (hour, dow). Daily and business days:
    (dow, doy). Weekly: (woy,). Every n days, n > 1 and not 7: (doy,). Monthly: (month,). Quarterly:
    (quarter,). Half-yearly: (month,). Yearly: none.
    """
    if freq.months:
        return {1: ("month",), 3: ("quarter",), 6: ("month",)}.get(freq.months, ())
    if freq.code == "1bd" or freq.step_us == _DAY:
        return ("dow", "doy")
    if freq.step_us % _DAY:
        return ("hour", "dow")
    return ("woy",) if freq.step_us == _WEEK else ("doy",)


CYCLE_DAYS = {"hour": 1.0, "dow": 7.0, "dom": 30.44, "doy": 365.25, "woy": 365.25, "month": 365.25, "quarter": 365.25}
"""Length of each feature's cycle in days."""


def cycle_steps(name: str, freq: Frequency) -> float:
    """About how many steps of this frequency one cycle of the feature spans."""
    if freq.sessions is not None:
        per_day = freq.sessions.steps_per_week / 7
    elif freq.code == "1bd":
        per_day = 5 / 7
    elif freq.months:
        per_day = 12 / freq.months / 365.25
    else:
        per_day = _DAY / freq.step_us
    return CYCLE_DAYS[name] * per_day


def auto_calendar(freq: Frequency, input_len: int | None = None) -> tuple[str, ...]:
    """default_calendar, less the features whose whole cycle the input window already shows (monthly data read
    24 months at a time sees every month twice; half-hourly data read two days at a time does not see the
    week)."""
    names = default_calendar(freq)
    if input_len is None:
        return names
    return tuple(n for n in names if cycle_steps(n, freq) > input_len)


def parse_calendar(text: str, freq: Frequency, input_len: int | None = None) -> tuple[str, ...]:
    """The features named by `--calendar auto|none|LIST` (LIST: comma-separated names from FEATURES); `auto`
    with an input window is `auto_calendar`."""
    word = text.strip().lower()
    if word == "auto":
        return auto_calendar(freq, input_len)
    if word == "none":
        return ()
    names = tuple(part.strip() for part in word.split(","))
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ConfigError(
            f"--calendar: unknown feature {', '.join(repr(n) for n in unknown)}; use auto, none or a comma-separated "
            f"list of {', '.join(FEATURES)}"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--calendar: {', '.join(repeated)} named twice")
    for name in names:
        reason = _constant_reason(name, freq)
        if reason:
            raise ConfigError(f"--calendar: '{name}' is constant on {freq.label} data ({reason}); leave it out")
    return names


def _constant_reason(name: str, freq: Frequency) -> str | None:
    """Why a feature cannot vary at this frequency, or None when it can."""
    if name == "hour" and (freq.months or freq.code == "1bd" or freq.step_us % _DAY == 0):
        return "every timestamp has the same time of day"
    if name == "dow" and not freq.months and freq.step_us and freq.step_us % _WEEK == 0:
        return "every step falls on the same day of the week"
    if name == "dom" and freq.months:
        return "every step falls on the same day of the month"
    if name in ("doy", "woy", "month", "quarter") and freq.months == 12:
        return "every step falls on the same date of the year"
    return None


def calendar_columns(names: Sequence[str], holidays: bool) -> list[str]:
    """Column names of the features, in the order of calendar_features: sin/cos pairs, then holiday flags."""
    columns = [f"{n}_{part}" for n in names for part in ("sin", "cos")]
    return columns + list(HOLIDAY_COLUMNS) if holidays else columns


def calendar_features(
    times: np.ndarray, names: Sequence[str], holidays: HolidayCalendar | None = None, tz: str | None = None
) -> np.ndarray:
    """(T, len(calendar_columns)) float32: time_features, then holiday_features when a calendar is given."""
    parts = [time_features(times, names, tz=tz)]
    if holidays is not None:
        parts.append(holiday_features(times, holidays, tz=tz))
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def time_features(times: np.ndarray, names: Sequence[str], tz: str | None = None) -> np.ndarray:
    """(T, 2 * len(names)) float32 sin/cos pairs of each named feature; with `tz`, UTC instants are read as
    wall-clock times in that zone."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ConfigError(f"unknown calendar feature {', '.join(map(repr, unknown))}; valid: {', '.join(FEATURES)}")
    t_us = local_times(times, tz).view(np.int64)
    out = np.empty((len(t_us), 2 * len(names)), dtype=np.float32)
    day_names = [n for n in names if n != "hour"]
    table, first_day = _day_table(t_us, day_names)
    day_cols = [c for i, n in enumerate(names) if n != "hour" for c in (2 * i, 2 * i + 1)]
    hour = 2 * list(names).index("hour") if "hour" in names else -1
    for a, b in pieces(len(t_us), _PIECE):
        piece = t_us[a:b]
        days = piece // _DAY
        if hour >= 0:
            _put_angle(out[a:b, hour : hour + 2], (piece - days * _DAY) / _DAY)
        if day_names and table is not None:
            out[a:b, day_cols] = table[days - first_day]
        elif day_names:
            out[a:b, day_cols] = _day_features(days, day_names)
    return out


def _day_table(t_us: np.ndarray, names: list[str]) -> tuple[np.ndarray | None, int]:
    """Features of every day from the first to the last, to look rows up in, when that range is not much
    longer than the rows themselves (a long file holds many rows per day); else (None, 0)."""
    if not names or len(t_us) == 0:
        return None, 0
    first, last = int(t_us.min()) // _DAY, int(t_us.max()) // _DAY
    if last - first + 1 > len(t_us) + 4000:
        return None, 0
    return _day_features(np.arange(first, last + 1, dtype=np.int64), names), first


def _day_features(days: np.ndarray, names: list[str]) -> np.ndarray:
    """(len(days), 2 * len(names)) float32 sin/cos pairs of date features; days count from 1970-01-01."""
    out = np.empty((len(days), 2 * len(names)), dtype=np.float32)
    for i, name in enumerate(names):
        position, period = _day_position(name, days)
        _put_angle(out[:, 2 * i : 2 * i + 2], position / period)
    return out


def _day_position(name: str, days: np.ndarray) -> tuple[np.ndarray, np.ndarray | int]:
    """Position in the cycle and its length, for a date feature."""
    if name == "dow":
        return (days + 3) % 7, 7  # 1970-01-01 was a Thursday
    if name == "woy":
        return _iso_week(days)
    date = days.astype("datetime64[D]")
    month = date.astype("datetime64[M]")
    if name in ("month", "quarter"):
        index = month.astype(np.int64) % 12
        return (index, 12) if name == "month" else (index // 3, 4)
    if name == "dom":
        start = month.astype("datetime64[D]")
        return (date - start).astype(np.int64) + 1, ((month + 1).astype("datetime64[D]") - start).astype(np.int64)
    year = date.astype("datetime64[Y]")
    start = year.astype("datetime64[D]")
    return (date - start).astype(np.int64) + 1, ((year + 1).astype("datetime64[D]") - start).astype(np.int64)


def _iso_week(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ISO week number (1..53) and the number of weeks in its ISO year: the year of the week's Thursday."""
    thursday = days - (days + 3) % 7 + 3
    year = thursday.astype("datetime64[D]").astype("datetime64[Y]")
    jan1 = year.astype("datetime64[D]").astype(np.int64)
    dec28 = (year + 1).astype("datetime64[D]").astype(np.int64) - 4  # always in the year's last ISO week
    last_thursday = dec28 - (dec28 + 3) % 7 + 3
    return (thursday - jan1) // 7 + 1, (last_thursday - jan1) // 7 + 1


def _put_angle(out: np.ndarray, fraction: np.ndarray) -> None:
    angle = 2 * np.pi * fraction
    out[:, 0] = np.sin(angle)
    out[:, 1] = np.cos(angle)
