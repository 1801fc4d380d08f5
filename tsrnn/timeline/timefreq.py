"""Parse timestamps, infer the frequency of a series and continue its time grid."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from tsrnn.core.errors import DataError
from tsrnn.core.messages import describe_lines, shorten
from tsrnn.timeline.sessions import SessionCalendar

TIME_NAMES = ("time", "date", "ds", "timestamp", "datetime", "period", "month", "week", "day")

# Unambiguous formats only: year first. Day-first or month-first dates are refused, never guessed.
_ISO_FORMATS = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$"), None),
    (re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(Z|[+-]\d{2}:?\d{2})?$"), None),
    (re.compile(r"^\d{4}/\d{2}/\d{2}$"), "%Y/%m/%d"),
    (re.compile(r"^\d{4}-\d{2}$"), "%Y-%m"),
)
_AMBIGUOUS = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})")
_OFFSET = r"[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?[+-]\d{2}:?\d{2}$"
"""A datetime that ends in a UTC offset (+11:00, -0500): an instant, like one that ends in 'Z'."""

US = 1_000_000  # microseconds per second
PIECE = 1 << 20
"""Rows per piece for arithmetic over every timestamp, so a long file's temporaries stay small."""
DAY = 86_400 * US


def pieces(n: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive pieces of at most PIECE rows covering n rows."""
    for a in range(0, n, PIECE):
        yield a, min(a + PIECE, n)


@dataclass(frozen=True)
class Frequency:
    """A regular time grid: fixed steps (minutes to weeks), business days, or calendar months."""

    code: str
    """Polars-style step: 30m, 1h, 1d, 1bd, 1w, 1mo, 3mo, 1y."""
    label: str
    season: int
    """Steps in one seasonal cycle (1 when there is none)."""
    step_us: int = 0
    """Fixed step in microseconds; 0 for calendar and business-day steps."""
    months: int = 0
    """Step in months for calendar frequencies."""
    month_end: bool = False
    sessions: SessionCalendar | None = None
    """The open slots of the week, for data that exists only while something is open (None: every step)."""
    shift_us: int = 0
    """For whole-day steps of UTC instants: how far a row may sit from its grid step, the daylight-saving shift
    of data taken at a fixed local time (local midnight is 13:00Z in summer and 14:00Z in winter in
    Melbourne); 0 elsewhere. A property of the data, not stored in the model file."""
    zone: str | None = None
    """With `shift_us`: the data's time zone (--tz, the model's tz), whose local days the steps continue across
    daylight-saving changes; None: each step is 24 hours."""

    def with_sessions(self, cal: SessionCalendar) -> Frequency:
        """The same step on the open slots of `cal` only: the season becomes a typical open day."""
        return replace(self, sessions=cal, season=cal.steps_per_day, label=f"{self.label}, sessions {cal.describe()}")

    @property
    def steps_per_year(self) -> float:
        """About how many steps make a year."""
        if self.months:
            return 12 / self.months
        if self.sessions is not None:
            return self.sessions.steps_per_week * 52.18
        if self.code == "1bd":
            return 261.0
        return 365.25 * DAY / self.step_us if self.step_us else 1.0

    def default_horizon(self) -> int:
        if self.sessions is not None:
            return max(self.season, 8)  # one typical open day
        return _DEFAULT_HORIZON.get(self.code, max(self.season, 8) if self.season > 1 else 8)

    def default_input_len(self) -> int:
        return max(2 * self.season, 2 * self.default_horizon())


DST_SHIFT = 2 * 3600 * US
"""The widest daylight-saving shift tolerated on daily steps of UTC instants (one hour nearly everywhere)."""


def local_day_steps(freq: Frequency, utc: bool) -> Frequency:
    """`freq`, for UTC instants on whole-day steps (daily, every n days, weekly), with rows allowed DST_SHIFT
    off their step: one row per local day whatever the offset of the day."""
    if utc and freq.sessions is None and freq.step_us and freq.step_us % DAY == 0:
        return replace(freq, shift_us=DST_SHIFT)
    return freq


_DEFAULT_HORIZON = {"1h": 24, "1d": 14, "1bd": 10, "1w": 13, "1mo": 12, "3mo": 8, "6mo": 4, "1y": 5}


def parse_times(values: pl.Series, file: str, lines: np.ndarray) -> tuple[np.ndarray, bool]:
    """Parse ISO dates or datetimes to datetime64[us]; return (times, utc)."""
    if values.dtype == pl.Date or isinstance(values.dtype, pl.Datetime):  # typed while reading (dates, Parquet)
        if values.null_count():
            bad = lines[values.is_null().to_numpy()]
            raise DataError(f"{file}: column '{values.name}' has empty timestamps on {describe_lines(bad)}")
        zone = getattr(values.dtype, "time_zone", None)
        if zone is not None:  # an instant in any zone is kept in UTC, as 'Z' timestamps are
            values = values.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return values.cast(pl.Datetime("us")).to_numpy(), zone is not None
    if values.dtype != pl.String:  # a column typed as numbers or ids, named as the time by the user
        values = values.cast(pl.String)
    fast = _parse_clean(values)
    if fast is not None:
        return fast, False
    text = values.str.strip_chars()
    missing = text.is_null() | (text == "")
    if missing.any():
        bad = lines[missing.to_numpy()]
        raise DataError(f"{file}: column '{values.name}' has empty timestamps on {describe_lines(bad)}")
    sample = text.drop_nulls().head(200).to_list()
    ambiguous = [s for s in sample if _AMBIGUOUS.match(s)]
    if ambiguous:
        raise DataError(
            f"{file}: column '{values.name}' has dates like '{shorten(ambiguous[0])}' that could be day-first or "
            "month-first; write them as ISO dates (YYYY-MM-DD)"
        )
    fmt = _pick_format(sample)
    if fmt is None:
        raise DataError(
            f"{file}: column '{values.name}' does not hold ISO dates or datetimes (first value "
            f"'{shorten(sample[0])}'); use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"
        )
    offset = text.str.contains(_OFFSET)
    utc = text.str.ends_with("Z") | offset
    if bool(utc.any()) and not bool(utc.all()):
        bad = lines[~utc.to_numpy()]
        raise DataError(
            f"{file}: column '{values.name}' mixes UTC ('Z' or an offset such as +11:00) and local timestamps "
            f"({describe_lines(bad)} have neither); use one convention"
        )
    cleaned = text.str.replace(r"Z$", "").str.replace(" ", "T")
    if bool(offset.any()):  # instants with their offsets: kept in UTC, as 'Z' timestamps are
        zoned = text.str.replace(" ", "T").str.replace(r"Z$", "+00:00")
        parsed = zoned.str.to_datetime(time_unit="us", strict=False, time_zone="UTC").dt.replace_time_zone(None)
    elif fmt == "iso":
        parsed = cleaned.str.to_datetime(time_unit="us", strict=False)
    else:
        parsed = cleaned.str.to_datetime(fmt, time_unit="us", strict=False)
    bad_mask = parsed.is_null().to_numpy()
    if bad_mask.any():
        first = text.filter(pl.Series(bad_mask)).head(3).to_list()
        raise DataError(
            f"{file}: column '{values.name}' has unparseable timestamps on {describe_lines(lines[bad_mask])} "
            f"(e.g. {', '.join(repr(shorten(v)) for v in first)}); fix them or remove those rows"
        )
    return parsed.to_numpy().astype("datetime64[us]", copy=False), bool(utc.all())


def _parse_clean(values: pl.Series) -> np.ndarray | None:
    """A column of local ISO timestamps that all parse as they are, without a copy of the text; else None
    (then parse_times cleans the text and names the bad rows)."""
    sample = values.drop_nulls().head(200).to_list()
    fmt = _pick_format(sample, min_share=1.0)
    if fmt is None or any(_AMBIGUOUS.match(s) or re.search(_OFFSET, s) for s in sample):
        return None
    if values.str.ends_with("Z").any():
        return None
    parsed = values.str.to_datetime(None if fmt == "iso" else fmt, time_unit="us", strict=False)
    if parsed.null_count():
        return None
    return parsed.to_numpy().astype("datetime64[us]", copy=False)


def looks_like_time(values: pl.Series) -> bool:
    sample = values.drop_nulls().head(50).to_list()
    return _pick_format([s.strip() for s in sample], min_share=0.9) is not None


def _pick_format(sample: list[str], min_share: float = 0.5) -> str | None:
    """The format most of the sample follows; rows that break it are reported by the parser."""
    if not sample:
        return None
    shares = [(sum(bool(p.match(s)) for s in sample) / len(sample), fmt or "iso") for p, fmt in _ISO_FORMATS]
    share, fmt = max(shares, key=lambda x: x[0])
    return fmt if share >= min_share else None


def infer_frequency(times: np.ndarray, codes: np.ndarray | None = None, file: str = "") -> Frequency:
    """Infer one frequency from the most common step within series (rows sorted by series, then time)."""
    steps = []
    for a, b in pieces(len(times) - 1):  # a long file's temporaries stay small
        diffs = np.diff(times[a : b + 1].view(np.int64))
        steps.append(diffs if codes is None else diffs[codes[a + 1 : b + 1] == codes[a:b]])
    diffs = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
    if diffs.size == 0:
        raise DataError(f"{file}: too few rows to infer a frequency")
    step = _most_common(diffs)
    days = step / DAY
    all_times = times
    if 28 <= days <= 31 or 89 <= days <= 92 or 181 <= days <= 184 or 365 <= days <= 366:
        months = 1 if days <= 31 else 3 if days <= 92 else 6 if days <= 184 else 12
        return _calendar(months, all_times, file)
    if step == DAY and _is_business_days(all_times, diffs):
        return Frequency("1bd", "business days", 5)
    if step % DAY == 0:
        n = step // DAY
        if n == 7:
            return Frequency("1w", "weekly", 52, step_us=step)
        return Frequency(f"{n}d", "daily" if n == 1 else f"every {n} days", 7 if n == 1 else 1, step_us=step)
    if step % (3600 * US) == 0:
        n = step // (3600 * US)
        season = 24 // n if 24 % n == 0 else 1
        return Frequency(f"{n}h", "hourly" if n == 1 else f"every {n} hours", season, step_us=step)
    if step % (60 * US) == 0:
        n = step // (60 * US)
        season = 1440 // n if 1440 % n == 0 else 1
        return Frequency(f"{n}m", f"every {n} minutes", season, step_us=step)
    if step % US == 0:
        n = step // US
        return Frequency(f"{n}s", f"every {n} seconds", 1, step_us=step)
    raise DataError(f"{file}: timestamps are {step} microseconds apart; steps below one second are not supported")


SMALL = 100_000
"""Steps counted by sorting (numpy) up to this many; more are counted by hashing (polars)."""


def _most_common(diffs: np.ndarray) -> int:
    """The most common step; the smallest of a tie."""
    if diffs.size <= SMALL:  # a short table: no polars frame to build
        steps, counts = np.unique(diffs, return_counts=True)
        return int(steps[np.argmax(counts)])  # steps ascend: the first of the most common is the smallest
    table = pl.Series("step", diffs).value_counts().sort(["count", "step"], descending=[True, False])
    return int(table["step"][0])


def _calendar(months: int, times: np.ndarray, file: str) -> Frequency:
    if any(np.any(times[a:b].view(np.int64) % DAY) for a, b in pieces(len(times))):
        raise DataError(f"{file}: monthly or longer steps must be whole dates without a time of day")
    # The majority convention wins (counted on at most PIECE rows spread over the file); rows off it are
    # reported with their lines by the grid check.
    days = times[:: -(-len(times) // PIECE)].astype("datetime64[D]")
    month = days.astype("datetime64[M]")
    end = int(np.count_nonzero(days == (month + 1).astype("datetime64[D]") - 1)) > int(
        np.count_nonzero(days == month.astype("datetime64[D]"))
    )
    label, season, code = {
        1: ("monthly", 12, "1mo"),
        3: ("quarterly", 4, "3mo"),
        6: ("half-yearly", 2, "6mo"),
        12: ("yearly", 1, "1y"),
    }[months]
    return Frequency(code, label + (" (month end)" if end else ""), season, months=months, month_end=end)


def _is_business_days(times: np.ndarray, diffs: np.ndarray) -> bool:
    weekday = (times.astype("datetime64[D]").astype(np.int64) + 3) % 7  # Monday = 0
    return bool(np.all(weekday < 5) and np.mean(diffs == 3 * DAY) > 0.1)


def format_times(times: np.ndarray, utc: bool) -> list[str]:
    """ISO strings: dates when every timestamp is midnight, else datetimes (with Z for UTC)."""
    days = times.astype("datetime64[D]")
    if not utc and np.all(times == days.astype("datetime64[us]")):
        return [str(d) for d in days]
    suffix = "Z" if utc else ""
    return [str(t) + suffix for t in times.astype("datetime64[s]")]
