"""Session calendars: series observed only while something is open (opening hours, trading sessions).

A calendar is the set of open slots of a week at a fixed intraday step: for each weekday (Mon=0..Sun=6), the
slots of the day, counted in steps from midnight (plus `offset_us` when the slots start off the hour, e.g.
hourly bars at 09:30, 10:30, ...). A series on a calendar is indexed by open slots only: closed slots
(nights, weekends, lunch breaks) are neither filled nor forecast, and a missing open slot or day (a public
holiday) is a gap of the calendar.

Times are naive local wall-clock times: there is no time-zone handling here. Data kept in local time follows
its opening hours across daylight-saving changes; data kept in UTC for a venue that observes them shifts by
an hour twice a year, and detection then takes both hours as open (the union), leaving an hour of gaps a day
for half the year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

US = 1_000_000
DAY = 86_400 * US
WEEK = 7 * DAY
MONDAY = 4 * DAY
"""1970-01-05, the first Monday after the epoch (a Thursday): weeks are counted from it."""
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

MIN_SHARE = 0.2
"""A slot is open when observed on at least this share of its weekday's dates within the series' spans."""
MIN_CLOSED = 0.1
"""A calendar needs more than this share of the week's slots closed; else the series runs round the clock."""
MAX_OUTSIDE = 0.02
"""At most this share of rows may fall outside the open slots (off the slot phase or in a closed slot)."""
MIN_WEEKS = 2
"""Every weekday must occur at least this many times within the series' spans to judge a weekly calendar."""


@dataclass(frozen=True)
class SessionCalendar:
    """The open slots of a week at a fixed intraday step."""

    step_us: int
    slots: tuple[tuple[int, ...], ...]
    """7 sorted tuples (Mon..Sun) of the open slot numbers of the day: slot k starts at offset_us + k * step_us."""
    offset_us: int = 0
    """Time of day of slot 0 (0 <= offset_us < step_us)."""
    _open: np.ndarray = field(init=False, repr=False, compare=False)
    """Week slot numbers (weekday * slots a day + slot) of the open slots, ascending."""
    _before: np.ndarray = field(init=False, repr=False, compare=False)
    """_before[k]: open slots among week slots 0..k-1 (length slots a week + 1)."""

    def __post_init__(self) -> None:
        step, offset = self.step_us, self.offset_us
        if not _is_int(step) or not 0 < step < DAY or DAY % step:
            raise ValueError(f"session calendar: 'step_us' must divide a day into whole steps, got {step!r}")
        if not _is_int(offset) or not 0 <= offset < step:
            raise ValueError(f"session calendar: 'offset_us' must be in 0..step_us-1, got {offset!r}")
        per_day = DAY // step
        if len(self.slots) != 7:
            raise ValueError(f"session calendar: 'slots' must hold 7 days, got {len(self.slots)}")
        for day, s in enumerate(self.slots):
            ints = all(_is_int(k) for k in s)
            if not ints or any(not 0 <= a < b for a, b in zip(s, [*s[1:], per_day], strict=False)):
                raise ValueError(f"session calendar: 'slots[{day}]' must be ascending slot numbers in 0..{per_day - 1}")
        object.__setattr__(self, "slots", tuple(tuple(int(k) for k in s) for s in self.slots))
        opened = np.concatenate([np.asarray(s, dtype=np.int64) + d * per_day for d, s in enumerate(self.slots)])
        if not opened.size:
            raise ValueError("session calendar: 'slots' has no open slot")
        mask = np.zeros(7 * per_day, dtype=np.int64)
        mask[opened] = 1
        object.__setattr__(self, "_open", opened)
        object.__setattr__(self, "_before", np.concatenate([[0], np.cumsum(mask)]))

    @property
    def steps_per_day(self) -> int:
        """Open slots of a typical open day: the most common non-zero count (the larger of a tie)."""
        counts = [len(s) for s in self.slots if s]
        return max(set(counts), key=lambda c: (counts.count(c), c))

    @property
    def steps_per_week(self) -> int:
        """Open slots in a week."""
        return len(self._open)

    @property
    def slots_per_day(self) -> int:
        """Slots of a whole day, open or closed."""
        return DAY // self.step_us

    def describe(self) -> str:
        """Days with identical hours grouped, first and last slot start times of each run, e.g.
        'Mon–Fri 09:00–11:30, 13:00–17:00; Sat 09:00–12:30, 15 steps a day'."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for day, s in enumerate(self.slots):
            if s:
                groups.setdefault(s, []).append(day)
        seconds = any((self.offset_us + k * self.step_us) % (60 * US) for s in groups for k in s)
        parts = []
        for s, days in groups.items():
            hours = ", ".join(
                self._clock(a, seconds) if a == b else f"{self._clock(a, seconds)}–{self._clock(b, seconds)}"
                for a, b in _runs(s)
            )
            parts.append(f"{_day_label(days)} {hours}")
        n = self.steps_per_day
        return f"{'; '.join(parts)}, {n} step{'s' if n > 1 else ''} a day"

    def _clock(self, slot: int, seconds: bool) -> str:
        s = (self.offset_us + slot * self.step_us) // US
        return f"{s // 3600:02d}:{s // 60 % 60:02d}" + (f":{s % 60:02d}" if seconds else "")

    def _rank(self, times: np.ndarray | np.datetime64) -> tuple[np.ndarray, np.ndarray]:
        """Open slots since the first week up to each time's slot (the last open slot at or before it, counted
        from 0), and whether the time is the start of an open slot."""
        u = np.asarray(times, dtype="datetime64[us]").view(np.int64) - (MONDAY + self.offset_us)
        slot = u // self.step_us
        on = u - slot * self.step_us == 0
        per_week = 7 * self.slots_per_day
        week = slot // per_week
        in_week = slot - week * per_week
        rank = week * self.steps_per_week + self._before[in_week + 1] - 1
        on &= self._before[in_week + 1] > self._before[in_week]
        return rank, on

    def index(self, times: np.ndarray, start: np.ndarray | np.datetime64) -> tuple[np.ndarray, np.ndarray]:
        """Open slots from each series start (an open slot) to each time, and whether the time is an open slot.

        A time between open slots (off the step, or in a closed slot) counts as the last open slot before it,
        like grid.grid_index."""
        rank, on = self._rank(times)
        return rank - self._rank(start)[0], on

    def times(self, start: np.ndarray | np.datetime64, idx: np.ndarray) -> np.ndarray:
        """Timestamps of open slot `idx` counted from `start` (the inverse of index)."""
        rank = self._rank(start)[0] + np.asarray(idx, dtype=np.int64)
        week, nth = np.divmod(rank, self.steps_per_week)
        slot = week * (7 * self.slots_per_day) + self._open[nth]
        return (slot * self.step_us + (MONDAY + self.offset_us)).astype("datetime64[us]")

    def next_slots(self, last: np.datetime64, n: int) -> np.ndarray:
        """The n open slots after `last`: the time steps of a forecast of a series ending at `last`."""
        return self.times(np.asarray(last, dtype="datetime64[us]"), np.arange(1, n + 1))

    def week_position(self, times: np.ndarray) -> np.ndarray:
        """Position of each time's open slot within the open slots of its week, in [0, 1)."""
        return (self._rank(times)[0] % self.steps_per_week) / self.steps_per_week

    def to_dict(self) -> dict[str, Any]:
        """Compact form for the model's metadata: per weekday the [first, last] runs of open slots."""
        return {
            "step_us": self.step_us,
            "offset_us": self.offset_us,
            "days": [[[a, b] for a, b in _runs(s)] for s in self.slots],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SessionCalendar:
        """The calendar of to_dict's output; ValueError naming the field when it is malformed."""
        if not isinstance(d, Mapping):
            raise ValueError(f"session calendar: expected a mapping, got {type(d).__name__}")
        for key in ("step_us", "days"):
            if key not in d:
                raise ValueError(f"session calendar: missing field '{key}'")
        step, offset, days = d["step_us"], d.get("offset_us", 0), d["days"]
        if not _is_int(step) or not 0 < step < DAY or DAY % step:
            raise ValueError(f"session calendar: 'step_us' must divide a day into whole steps, got {step!r}")
        if not isinstance(days, list | tuple) or len(days) != 7:
            raise ValueError("session calendar: 'days' must be a list of 7 lists of [first, last] runs")
        slots = []
        for day, runs in enumerate(days):
            if not isinstance(runs, list | tuple):
                raise ValueError(f"session calendar: 'days[{day}]' must be a list of [first, last] runs")
            out: list[int] = []
            for j, run in enumerate(runs):
                ok = isinstance(run, list | tuple) and len(run) == 2 and all(_is_int(x) for x in run)
                if not ok or not (out[-1] if out else -1) < run[0] <= run[1] < DAY // step:
                    raise ValueError(
                        f"session calendar: 'days[{day}][{j}]' must be [first, last] slot numbers "
                        f"in 0..{DAY // step - 1}, after the previous run, got {run!r}"
                    )
                out.extend(range(int(run[0]), int(run[1]) + 1))
            slots.append(tuple(out))
        return cls(int(step), tuple(slots), int(offset) if _is_int(offset) else offset)


def detect_sessions(
    times: np.ndarray,
    step_us: int,
    codes: np.ndarray | None = None,
    *,
    min_share: float = MIN_SHARE,
    min_closed: float = MIN_CLOSED,
    max_outside: float = MAX_OUTSIDE,
    min_weeks: int = MIN_WEEKS,
) -> SessionCalendar | None:
    """The session calendar the rows follow, or None (round the clock, daily or longer steps, too short).

    Rows are sorted by series (`codes`, one number per row) then time, without duplicates. A week slot is open
    when observed on at least `min_share` of the dates of its weekday within the series' spans (first to last
    date of each series, summed over series): a missing holiday or slot stays open, a lunch break or a weekend
    stays closed. A calendar needs more than `min_closed` of the week's slots closed, at most `max_outside` of
    the rows outside its open slots, and every weekday `min_weeks` times in the spans."""
    if len(times) == 0 or not 0 < step_us < DAY or DAY % step_us:
        return None
    t = np.asarray(times, dtype="datetime64[us]").view(np.int64)
    per_day = DAY // step_us
    phase = t % step_us
    values, counts = np.unique(phase[:: max(1, len(t) // 100_000)], return_counts=True)
    offset = int(values[np.argmax(counts)])  # the most common phase; the smallest of a tie
    aligned = phase == offset
    del phase
    in_week = ((t[aligned] - (MONDAY + offset)) // step_us) % (7 * per_day)
    seen = np.bincount(in_week, minlength=7 * per_day)
    del in_week
    if codes is None:
        first, last = t.min(keepdims=True), t.max(keepdims=True)
    else:
        cuts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
        first, last = np.minimum.reduceat(t, cuts), np.maximum.reduceat(t, cuts)
    d0, d1 = first // DAY, last // DAY
    weekday_dates = np.array([int(np.sum((d1 - r) // 7 - (d0 - 1 - r) // 7)) for r in (np.arange(7) + 4) % 7])
    if weekday_dates.min() < min_weeks:
        return None
    is_open = seen >= min_share * np.repeat(weekday_dates, per_day)
    outside = int(np.count_nonzero(~aligned)) + int(seen[~is_open].sum())
    if np.count_nonzero(~is_open) <= min_closed * 7 * per_day or outside > max_outside * len(t):
        return None
    open_slots = is_open.reshape(7, per_day)
    return SessionCalendar(int(step_us), tuple(tuple(np.flatnonzero(d).tolist()) for d in open_slots), offset)


def _is_int(x: object) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _runs(slots: tuple[int, ...]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive slot numbers."""
    out: list[tuple[int, int]] = []
    for k in slots:
        if out and out[-1][1] == k - 1:
            out[-1] = (out[-1][0], k)
        else:
            out.append((k, k))
    return out


def _day_label(days: list[int]) -> str:
    """'Mon–Fri', 'Sat', 'Mon, Wed–Fri'."""
    return ", ".join(DAY_NAMES[a] if a == b else f"{DAY_NAMES[a]}–{DAY_NAMES[b]}" for a, b in _runs(tuple(days)))
