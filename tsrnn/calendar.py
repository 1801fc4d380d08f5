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
metadata alone: this module needs only numpy (and the standard library's zoneinfo). The `holidays` package
is needed only to build a `HolidayCalendar` when training; the model stores the holiday dates themselves.

Time zones and daylight saving: UTC timestamps (written with 'Z') are encoded on the UTC clock unless a `tz`
(an IANA name such as "Australia/Melbourne") is given; then each instant is first converted to local wall time,
so on the day clocks go back two UTC instants share the same local hour, and on the day they go forward a local
hour never appears. Naive local timestamps are taken as wall-clock times as they stand: a half-hourly local
series on a daylight-saving day repeats one wall-clock hour (which the loader refuses as duplicated timestamps)
or skips one (which the grid fills as missing steps). Features follow the wall clock, which is what the
calendar means (shops open at 09:00 local time). To keep every real instant, write UTC timestamps and pass
`tz`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConfigError, ModelFileError

if TYPE_CHECKING:
    from types import ModuleType

    from .timefreq import Frequency

FEATURES = ("hour", "dow", "dom", "doy", "woy", "month", "quarter")
"""Every cyclic feature, in the order their columns appear."""
HOLIDAY_COLUMNS = ("holiday", "day_before", "day_after")
"""Holiday flags: the day is a holiday, the next day is one, the previous day was one."""
HOLIDAY_YEARS_AHEAD = 10
"""A model stores holidays from the training data's first year through its last year plus this many."""

_US = 1_000_000
_DAY = 86_400 * _US
_WEEK = 7 * _DAY
_PIECE = 1 << 20  # rows per piece, as timefreq.PIECE (not imported: timefreq loads polars)
_INSTALL = "pip install 'tsrnn[train]'"


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
    for a, b in _pieces(len(t_us)):
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


def _pieces(n: int) -> Iterator[tuple[int, int]]:
    for a in range(0, n, _PIECE):
        yield a, min(a + _PIECE, n)


def local_times(times: np.ndarray, tz: str | None = None) -> np.ndarray:
    """datetime64[us] wall-clock times: UTC instants converted to zone `tz`, or `times` as they are without it."""
    times = np.asarray(times).astype("datetime64[us]", copy=False)
    if tz is None or len(times) == 0:
        return times
    t_us = times.view(np.int64)
    switches, offsets = _offset_table(_zone(tz), int(t_us.min()), int(t_us.max()))
    out = np.empty_like(t_us)
    for a, b in _pieces(len(t_us)):
        out[a:b] = t_us[a:b] + offsets[np.searchsorted(switches, t_us[a:b], side="right")]
    return out.view("datetime64[us]")


def check_zone(tz: str) -> None:
    """Raise ConfigError for a time zone name the database does not know."""
    _zone(tz)


def _zone(tz: str) -> dt.tzinfo:
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        known = zoneinfo.available_timezones()
        if not known:
            raise ConfigError(f"time zone '{tz}': no time-zone database found; pip install tzdata") from None
        close = difflib.get_close_matches(tz, sorted(known), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown time zone '{tz}'{hint}; use an IANA name such as 'Australia/Melbourne'") from None


def _offset_table(zone: dt.tzinfo, first_us: int, last_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Offset changes of `zone` between two UTC instants: (instants of change, offsets), where offsets[k]
    holds after k changes. Offsets are sampled once a day and each change is bisected to the second."""
    samples = range(first_us // _DAY * _DAY, last_us + _DAY, _DAY)
    offsets = [_utc_offset(zone, t) for t in samples]
    switches = [
        _bisect_switch(zone, samples[i], samples[i + 1], offsets[i])
        for i in range(len(offsets) - 1)
        if offsets[i] != offsets[i + 1]
    ]
    after = [_utc_offset(zone, t) for t in switches]
    return np.array(switches, dtype=np.int64), np.array([offsets[0], *after], dtype=np.int64)


def _bisect_switch(zone: dt.tzinfo, lo_us: int, hi_us: int, before: int) -> int:
    """The first whole second in (lo, hi] whose UTC offset is no longer `before`, in microseconds."""
    lo, hi = lo_us // _US, hi_us // _US
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if _utc_offset(zone, mid * _US) == before else (lo, mid)
    return hi * _US


def _utc_offset(zone: dt.tzinfo, t_us: int) -> int:
    instant = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=t_us)
    offset = instant.astimezone(zone).utcoffset()
    return 0 if offset is None else offset // dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays of one country or subdivision, stored as dates so forecasting needs no `holidays`."""

    country: str
    """ISO 3166-1 alpha-2 code as the holidays package names it (e.g. AU)."""
    subdiv: str | None
    """Subdivision code (e.g. VIC), or None for the national holidays."""
    package_version: str
    """Version of the holidays package that listed the dates."""
    dates: tuple[str, ...]
    """Sorted ISO dates, from 31 December before first_year to 1 January after last_year."""
    first_year: int
    last_year: int

    @property
    def spec(self) -> str:
        return self.country + (f":{self.subdiv}" if self.subdiv else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "subdiv": self.subdiv,
            "package_version": self.package_version,
            "first_year": self.first_year,
            "last_year": self.last_year,
            "dates": list(self.dates),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HolidayCalendar:
        try:
            return cls(
                str(d["country"]),
                None if d["subdiv"] is None else str(d["subdiv"]),
                str(d["package_version"]),
                tuple(str(x) for x in d["dates"]),
                int(d["first_year"]),
                int(d["last_year"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"the model's holiday calendar is malformed ({type(e).__name__}: {e})") from None

    def day_numbers(self) -> np.ndarray:
        """The holidays as datetime64[D]."""
        return np.array(self.dates, dtype="datetime64[D]")

    def covers(self, times: np.ndarray, tz: str | None = None) -> bool:
        """Whether every (local) date falls in first_year..last_year."""
        if len(times) == 0:
            return True
        years = local_times(times, tz).astype("datetime64[Y]").astype(np.int64) + 1970
        return bool(years.min() >= self.first_year and years.max() <= self.last_year)

    def first_date_beyond(self, times: np.ndarray, tz: str | None = None) -> np.datetime64 | None:
        """The earliest (local) date after last_year, where holiday flags are unknown (read as 0); else None."""
        days = local_times(times, tz).astype("datetime64[D]")
        late = days[days >= np.datetime64(f"{self.last_year + 1}-01-01", "D")]
        return late.min() if len(late) else None


def holiday_features(times: np.ndarray, cal: HolidayCalendar, tz: str | None = None) -> np.ndarray:
    """(T, 3) float32 flags from the (local) date: holiday, day_before (the next day is a holiday), day_after
    (the previous day was one)."""
    days = local_times(times, tz).astype("datetime64[D]").view(np.int64)
    out = np.zeros((len(days), 3), dtype=np.float32)
    if len(days) == 0:
        return out
    # A flag per day from the day before the first row to the day after the last, looked up by index.
    first = int(days.min()) - 1
    marked = np.zeros(int(days.max()) + 2 - first, dtype=bool)
    hol = cal.day_numbers().view(np.int64) - first
    marked[hol[(hol >= 0) & (hol < len(marked))]] = True
    for a, b in _pieces(len(days)):
        index = days[a:b] - first
        out[a:b, 0] = marked[index]
        out[a:b, 1] = marked[index + 1]
        out[a:b, 2] = marked[index - 1]
    return out


def holiday_years(times: Sequence[np.ndarray]) -> tuple[int, int]:
    """The years a model stores: the training data's first year through its last year + HOLIDAY_YEARS_AHEAD."""
    present = [t for t in times if len(t)]
    if not present:
        raise ConfigError("holidays: no timestamps to take the years from")
    first = min(int(t.min().astype("datetime64[Y]").astype(np.int64)) for t in present) + 1970
    last = max(int(t.max().astype("datetime64[Y]").astype(np.int64)) for t in present) + 1970
    return first, last + HOLIDAY_YEARS_AHEAD


def build_holidays(spec: str, years: range | tuple[int, int]) -> HolidayCalendar:
    """The public holidays of `spec` (COUNTRY[:SUBDIVISION], e.g. AU:VIC, US, DE:BY) over `years` (a range, or
    first and last year inclusive)."""
    first, last = (years.start, years.stop - 1) if isinstance(years, range) else years
    if first > last:
        raise ConfigError(f"holidays: no years to list ({first}..{last})")
    mod = _holidays_module()
    country_text, _, subdiv_text = spec.partition(":")
    country = _resolve_country(mod, country_text.strip())
    national = mod.country_holidays(country, years=[])
    subdiv = _resolve_subdiv(national, subdiv_text.strip(), spec) if ":" in spec else None
    table = mod.country_holidays(country, subdiv=subdiv, years=range(first - 1, last + 2))
    lo, hi = dt.date(first - 1, 12, 31), dt.date(last + 1, 1, 1)
    dates = tuple(d.isoformat() for d in sorted(table) if lo <= d <= hi)
    return HolidayCalendar(str(national.country), subdiv, str(mod.__version__), dates, first, last)


def _holidays_module() -> ModuleType:
    try:
        import holidays
    except ImportError:
        raise ConfigError(f"holiday features need the 'holidays' package: {_INSTALL}") from None
    return holidays


def _resolve_country(mod: ModuleType, text: str) -> str:
    """The supported code (two or three letters, any case) that `text` names, or a ConfigError with suggestions."""
    supported = mod.list_supported_countries(include_aliases=True)
    by_upper = {code.upper(): code for code in supported}
    if text.upper() in by_upper:
        return str(by_upper[text.upper()])
    same_length = sorted(code for code in by_upper if len(code) == len(text))  # alpha-2 or alpha-3
    close = difflib.get_close_matches(text.upper(), same_length, n=4, cutoff=0.5)
    named = _countries_named(mod, text)
    hint = f" (did you mean {', '.join(dict.fromkeys(named + close))}?)" if named or close else ""
    raise ConfigError(
        f"holidays: unknown country code '{text}'{hint}; use an ISO 3166-1 alpha-2 code such as AU, US or DE, "
        "optionally with a subdivision as in AU:VIC. List them with "
        'python -c "import holidays; print(sorted(holidays.list_supported_countries()))"'
    )


def _countries_named(mod: ModuleType, text: str) -> list[str]:
    """Codes of countries whose name contains `text` (e.g. 'germany' -> DE)."""
    key = text.lower().replace(" ", "").replace("_", "")
    if len(key) < 4:
        return []
    countries = getattr(getattr(mod, "registry", None), "COUNTRIES", {})
    return [str(entry[1]) for entry in countries.values() if key in str(entry[0]).lower()][:4]


def _resolve_subdiv(national: Any, text: str, spec: str) -> str:
    """The subdivision code `text` names (a code or an alias such as 'Victoria', any case)."""
    codes = [str(c) for c in national.subdivisions]
    aliases = {str(k): str(v) for k, v in getattr(national, "subdivisions_aliases", {}).items()}
    lookup = {c.upper(): c for c in codes} | {k.upper(): v for k, v in aliases.items()}
    if text.upper() in lookup:
        return lookup[text.upper()]
    country = str(national.country)
    if not codes:
        raise ConfigError(f"holidays: '{spec}': {country} has no subdivisions; write just {country}")
    close = difflib.get_close_matches(text.upper(), sorted(lookup), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(dict.fromkeys(lookup[c] for c in close))}?)" if close else ""
    raise ConfigError(
        f"holidays: '{spec}': {country} has no subdivision '{text}'{hint}; valid subdivisions of {country}: "
        f"{', '.join(codes)}"
    )
