"""Put every series on its regular time grid at once (no Python loop over series), then interpolate.

Rows arrive as flat arrays: a series code per row (0..S-1), a timestamp and the channel values. The grid
of a series runs from its first to its last timestamp; a row's grid index counts steps from that start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsrnn.timeline.localtime import local_times, utc_times
from tsrnn.timeline.timefreq import Frequency, pieces


@dataclass
class Flat:
    """S series laid end to end: series s is rows offsets[s]:offsets[s + 1]."""

    offsets: np.ndarray
    times: np.ndarray
    values: np.ndarray
    filled: np.ndarray | None = None
    """Rows where interpolate() filled at least one cell (None before it ran)."""

    def split(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        cuts = self.offsets[1:-1]
        return np.split(self.times, cuts), np.split(self.values, cuts)


def series_starts(codes: np.ndarray, times: np.ndarray, n_series: int) -> np.ndarray:
    """The first timestamp of every series."""
    start = np.full(n_series, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(start, codes, times.view(np.int64))
    return start.astype("datetime64[us]")


def rows_on_grid(
    times: np.ndarray, codes: np.ndarray, starts: np.ndarray, freq: Frequency
) -> tuple[np.ndarray, np.ndarray]:
    """grid_index of every row against its series' start, a piece of rows at a time."""
    idx = np.empty(len(times), dtype=np.int64)
    on = np.empty(len(times), dtype=bool)
    for a, b in pieces(len(times)):
        idx[a:b], on[a:b] = grid_index(times[a:b], starts[codes[a:b]], freq)
    return idx, on


def grid_index(times: np.ndarray, start: np.ndarray, freq: Frequency) -> tuple[np.ndarray, np.ndarray]:
    """Steps from each row's series start, and whether the row sits on the grid."""
    if freq.sessions is not None:
        return freq.sessions.index(times, start)
    if freq.step_us and freq.shift_us:  # local days of UTC instants: the nearest step, within the DST shift
        rel = (times - start).astype(np.int64)
        idx = (rel + freq.step_us // 2) // freq.step_us
        return idx, np.abs(rel - idx * freq.step_us) <= freq.shift_us
    if freq.step_us:
        rel = (times - start).astype(np.int64)
        return rel // freq.step_us, rel % freq.step_us == 0
    days = times.astype("datetime64[D]")
    whole_day = times == days.astype("datetime64[us]")
    if freq.code == "1bd":
        on = whole_day & np.is_busday(days)
        idx = np.busday_count(start.astype("datetime64[D]"), days, weekmask="1111100")
        return idx.astype(np.int64), on
    month = days.astype("datetime64[M]")
    anchor = ((month + 1).astype("datetime64[D]") - 1) if freq.month_end else month.astype("datetime64[D]")
    rel = (month - start.astype("datetime64[M]")).astype(np.int64)
    return rel // freq.months, whole_day & (days == anchor) & (rel % freq.months == 0)


def grid_times(start: np.ndarray, idx: np.ndarray, freq: Frequency) -> np.ndarray:
    """Timestamps of grid index `idx` for series starting at `start` (arrays of one length)."""
    if freq.sessions is not None:
        return freq.sessions.times(start, idx)
    if freq.step_us and freq.shift_us and freq.zone:  # the same local time of day, whatever the offset
        return utc_times(local_times(start, freq.zone) + idx * np.timedelta64(freq.step_us, "us"), freq.zone)
    if freq.step_us:
        return start + idx * np.timedelta64(freq.step_us, "us")
    if freq.code == "1bd":
        return np.busday_offset(start.astype("datetime64[D]"), idx, roll="forward").astype("datetime64[us]")
    months = start.astype("datetime64[M]") + idx * freq.months
    if freq.month_end:
        return ((months + 1).astype("datetime64[D]") - 1).astype("datetime64[us]")
    return months.astype("datetime64[D]").astype("datetime64[us]")


def fill_grid(
    codes: np.ndarray,
    idx: np.ndarray,
    values: np.ndarray,
    starts: np.ndarray,
    freq: Frequency,
    times: np.ndarray | None = None,
) -> tuple[Flat, int]:
    """Scatter rows onto each series' full grid (missing steps are NaN); return it and the steps inserted.

    With `times`, rows are taken to be sorted by series and time without duplicates: when no step is missing,
    they already are the grid and are kept as they are."""
    n_series = len(starts)
    length = np.zeros(n_series, dtype=np.int64)
    np.maximum.at(length, codes, idx + 1)
    offsets = np.concatenate([[0], np.cumsum(length)])
    if times is not None and offsets[-1] == len(values):
        return Flat(offsets, times, values), 0
    full = np.full((int(offsets[-1]), values.shape[1]), np.nan)
    full[offsets[codes] + idx] = values
    series_of_row = np.repeat(np.arange(n_series), length)
    local = np.arange(len(full)) - offsets[series_of_row]
    if freq.shift_us and times is not None:
        grid = _local_day_times(times, offsets[codes] + idx, len(full), freq.step_us)
    else:
        grid = grid_times(starts[series_of_row], local, freq)
    return Flat(offsets, grid, full), int(offsets[-1]) - len(values)


def _local_day_times(times: np.ndarray, at: np.ndarray, n: int, step_us: int) -> np.ndarray:
    """Grid times of local-day steps (`Frequency.shift_us`): each row's own time, and a missing step the time of
    the last row before it plus whole steps (every series starts with a row of its own)."""
    own = np.zeros(n, dtype=np.int64)
    own[at] = times.view(np.int64)
    last = np.zeros(n, dtype=np.int64)
    last[at] = at
    np.maximum.accumulate(last, out=last)
    return (own[last] + (np.arange(n) - last) * step_us).view("datetime64[us]")


@dataclass
class Trimmed:
    """What trim_incomplete_ends dropped."""

    rows: int
    """Rows dropped in all."""
    empty: np.ndarray
    """Codes of series with no complete row at all."""
    tail: np.ndarray
    """Rows dropped at the end of each series (by code)."""
    tail_from: np.ndarray
    """The first dropped time at the end of each series (meaningful where tail > 0)."""


def trim_incomplete_ends(flat: Flat) -> tuple[Flat, Trimmed]:
    """Drop leading and trailing rows of each series where any channel is missing."""
    complete = ~np.isnan(flat.values).any(axis=1)
    n = len(flat.offsets) - 1
    if complete.all():
        none = np.zeros(n, dtype=np.int64)
        return flat, Trimmed(0, np.zeros(0, dtype=np.int64), none, np.zeros(n, dtype="datetime64[us]"))
    series_of_row = np.repeat(np.arange(n), np.diff(flat.offsets))
    pos = np.arange(len(complete))
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, -1)
    np.minimum.at(first, series_of_row[complete], pos[complete])
    np.maximum.at(last, series_of_row[complete], pos[complete])
    empty = np.flatnonzero(last < 0)
    keep = (pos >= first[series_of_row]) & (pos <= last[series_of_row])
    kept_per_series = np.bincount(series_of_row[keep], minlength=n)
    offsets = np.concatenate([[0], np.cumsum(kept_per_series)])
    ends = flat.offsets[1:] - 1
    tail = np.where(last >= 0, ends - last, 0)
    tail_from = flat.times[np.clip(last + 1, 0, len(flat.times) - 1)]
    trimmed = Trimmed(int((~keep).sum()), empty, tail, tail_from)
    return Flat(offsets, flat.times[keep], flat.values[keep]), trimmed


@dataclass
class Gap:
    column: int
    row: int
    """Flat row where the longest run of missing values starts."""
    length: int


def interpolate(flat: Flat) -> list[Gap | None]:
    """Linear interpolation of every missing cell, in place; the longest missing run per column.

    Each series starts and ends with a complete row (see trim_incomplete_ends), so interpolating along the
    flat array never reaches across two series."""
    longest: list[Gap | None] = []
    flat.filled = np.isnan(flat.values).any(axis=1)
    pos = np.arange(len(flat.values))
    for j in range(flat.values.shape[1]):
        col = flat.values[:, j]
        miss = np.isnan(col)
        if not miss.any():
            longest.append(None)
            continue
        col[miss] = np.interp(pos[miss], pos[~miss], col[~miss])
        edges = np.flatnonzero(np.diff(np.r_[0, miss.astype(np.int8), 0]))
        starts, stops = edges[::2], edges[1::2]
        k = int(np.argmax(stops - starts))
        longest.append(Gap(j, int(starts[k]), int(stops[k] - starts[k])))
    return longest
