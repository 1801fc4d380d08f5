"""Wall-clock times of UTC instants in an IANA time zone, with numpy and the standard library's zoneinfo only.

A zone's UTC offsets are sampled once a day over the span of the timestamps and each change is bisected to the
second, so a long series is converted with one table look-up per row rather than one datetime per row.
"""

from __future__ import annotations

import datetime as dt
import difflib
import zoneinfo
from collections.abc import Iterator

import numpy as np

from tsrnn.core.errors import ConfigError

_US = 1_000_000
_DAY = 86_400 * _US
PIECE = 1 << 20
"""Rows per piece, as timefreq.PIECE (not imported: timefreq loads polars)."""


def pieces(n: int, size: int = PIECE) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive pieces of at most `size` rows that cover `n` rows."""
    for a in range(0, n, size):
        yield a, min(a + size, n)


def local_times(times: np.ndarray, tz: str | None = None) -> np.ndarray:
    """datetime64[us] wall-clock times: UTC instants converted to zone `tz`, or `times` as they are without it."""
    times = np.asarray(times).astype("datetime64[us]", copy=False)
    if tz is None or len(times) == 0:
        return times
    t_us = times.view(np.int64)
    switches, offsets = _offset_table(_zone(tz), int(t_us.min()), int(t_us.max()))
    out = np.empty_like(t_us)
    for a, b in pieces(len(t_us)):
        out[a:b] = t_us[a:b] + offsets[np.searchsorted(switches, t_us[a:b], side="right")]
    return out.view("datetime64[us]")


def utc_times(wall: np.ndarray, tz: str) -> np.ndarray:
    """datetime64[us] UTC instants of wall-clock times in zone `tz`, the inverse of `local_times` (a wall time
    that a clock change skips or repeats gets one of the offsets around it)."""
    w = np.asarray(wall).astype("datetime64[us]", copy=False).view(np.int64)
    if len(w) == 0:
        return w.view("datetime64[us]")
    switches, offsets = _offset_table(_zone(tz), int(w.min()) - _DAY, int(w.max()) + _DAY)
    out = np.empty_like(w)
    for a, b in pieces(len(w)):
        guess = w[a:b] - offsets[np.searchsorted(switches, w[a:b], side="right")]
        out[a:b] = w[a:b] - offsets[np.searchsorted(switches, guess, side="right")]
    return out.view("datetime64[us]")


def check_zone(tz: str) -> None:
    """Raise ConfigError for a time zone name the database does not know."""
    _zone(tz)


def _zone(tz: str) -> dt.tzinfo:
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
