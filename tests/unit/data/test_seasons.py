"""Seasons: candidates from the frequency, the check on the data, --seasons, and the seasonal lags."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tsrnn.data.seasons import (
    candidate_seasons,
    check_seasons,
    data_seasons,
    describe_seasons,
    parse_seasons,
    season_score,
    seasonal_lags,
)
from tsrnn.timeline.sessions import SessionCalendar
from tsrnn.timeline.timefreq import DAY, US, Frequency, infer_frequency

HOUR = 3600 * US


def _fixed(minutes: int) -> Frequency:
    return Frequency(f"{minutes}m", f"every {minutes} minutes", 1440 // minutes, step_us=minutes * 60 * US)


def _business_hours() -> SessionCalendar:
    """Mon-Fri 09:00-16:00 hourly: 8 open slots a day, 40 a week."""
    day = tuple(range(9, 17))
    return SessionCalendar(HOUR, (day, day, day, day, day, (), ()))


@pytest.mark.parametrize(
    ("freq", "n", "expected"),
    [
        (_fixed(30), 10_000, (48, 336)),
        (_fixed(60), 10_000, (24, 168)),
        (_fixed(15), 10_000, (96, 672)),
        (_fixed(30), 500, (48,)),  # 500 steps: two days fit, two weeks do not
        (_fixed(30), 95, ()),
        (_fixed(7), 100_000, ()),  # 7 minutes do not divide a day
        (Frequency("1d", "daily", 7, step_us=DAY), 729, (7,)),
        (Frequency("1d", "daily", 7, step_us=DAY), 730, (7, 365)),
        (Frequency("1bd", "business days", 5), 100, (5,)),
        (Frequency("1w", "weekly", 52, step_us=7 * DAY), 104, (52,)),
        (Frequency("1w", "weekly", 52, step_us=7 * DAY), 103, ()),
        (Frequency("1mo", "monthly", 12, months=1), 144, (12,)),
        (Frequency("3mo", "quarterly", 4, months=3), 40, (4,)),
        (Frequency("1y", "yearly", 1, months=12), 100, ()),
    ],
)
def test_candidates_follow_the_frequency_and_need_two_cycles(freq: Frequency, n: int, expected: tuple) -> None:
    assert candidate_seasons(freq, n) == expected


def test_candidates_on_a_session_calendar_count_open_slots() -> None:
    freq = _fixed(60).with_sessions(_business_hours())
    assert candidate_seasons(freq, 1000) == (8, 40)
    assert candidate_seasons(freq, 79) == (8,)


def test_a_minute_grid_keeps_the_week_but_a_second_grid_has_none_too_long() -> None:
    assert candidate_seasons(_fixed(1), 10**6) == (1440, 10_080)
    seconds = Frequency("1s", "every 1 seconds", 1, step_us=US)
    assert candidate_seasons(seconds, 10**7) == ()  # 86 400 steps a day: longer than any model reads


def _daily_weekly(n: int, week: float, seed: int = 0, noise: float = 0.3) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    weekday = (t // 24) % 7
    return np.sin(2 * np.pi * t / 24) + week * (weekday >= 5) + 0.01 * t + noise * rng.normal(size=n)


def test_check_keeps_the_week_only_where_the_data_has_one() -> None:
    with_week = [_daily_weekly(24 * 7 * 12, 2.0, seed=s) for s in range(3)]
    without = [_daily_weekly(24 * 7 * 12, 0.0, seed=s) for s in range(3)]
    assert check_seasons(with_week, (24, 168)) == (24, 168)
    # the week holds seven days: the daily profile is taken out before the week is scored
    assert check_seasons(without, (24, 168)) == (24,)


def test_check_drops_seasons_of_noise_and_random_walks() -> None:
    rng = np.random.default_rng(1)
    noise = [rng.normal(size=3000) for _ in range(4)]
    walks = [np.cumsum(rng.normal(size=3000)) for _ in range(4)]
    assert check_seasons(noise, (24, 168)) == ()
    assert check_seasons(walks, (5,)) == ()


def test_check_reads_the_first_column_and_skips_flat_series() -> None:
    x = _daily_weekly(24 * 30, 0.0)
    table = np.stack([x, np.zeros_like(x)], axis=1)
    assert check_seasons([table, np.ones((24 * 30, 2))], (24,)) == (24,)
    assert np.isnan(season_score(np.ones(100), 24))
    assert np.isnan(season_score(np.arange(30.0), 24))  # under two cycles


def test_a_longer_season_without_the_shorter_is_kept_alone() -> None:
    t = np.arange(24 * 7 * 10)
    week_only = 3.0 * ((t // 24) % 7 == 2) + np.random.default_rng(2).normal(0, 0.2, t.size)
    assert check_seasons([week_only], (24, 168)) == (168,)


def test_seasonal_lags_by_hand() -> None:
    history = np.arange(10.0)  # values = positions: the lag of each step reads as its source position
    # m = 4, last step t = 9: h=1..4 -> 6, 7, 8, 9; h=5..8 repeat the last cycle -> 6, 7, 8, 9
    assert seasonal_lags(history, 4, 6).tolist() == [6, 7, 8, 9, 6, 7]
    assert seasonal_lags(history, 1, 3).tolist() == [9, 9, 9]
    assert seasonal_lags(history, 10, 2).tolist() == [0, 1]
    two = np.stack([history, 10 * history], axis=1)
    assert seasonal_lags(two, 3, 2).tolist() == [[7, 70], [8, 80]]
    with pytest.raises(ValueError, match="10 steps of history for a season of 11"):
        seasonal_lags(history, 11, 1)


def test_seasonal_lags_across_closed_hours_take_the_same_open_slot_a_week_earlier() -> None:
    cal = _business_hours()
    monday = np.datetime64("2024-01-08T00:00", "us")
    start = monday + np.timedelta64(9, "h")
    slots = cal.next_slots(start - np.timedelta64(1, "h"), 80)  # two weeks of open hours from Mon 09:00
    times = slots.astype("datetime64[us]")
    assert times[0] == start and times[40] == start + np.timedelta64(7, "D")
    history = times[:40].astype(np.int64)  # one week of open slots; the next step is Monday 09:00 again
    lag = seasonal_lags(history, 40, 10).astype("datetime64[us]")
    expected = times[40:50] - np.timedelta64(7, "D")  # Mon 09:00..16:00, Tue 09:00, 10:00 of the week before
    assert (lag == expected).all()
    assert lag[8] == start + np.timedelta64(1, "D")  # after Monday 16:00 comes Tuesday 09:00, not the night


def test_seasonal_lags_across_a_daylight_saving_change_are_a_week_of_utc_steps() -> None:
    # half-hourly UTC instants across Melbourne's change of 2024-04-07 (03:00 AEDT -> 02:00 AEST)
    times = np.arange(
        np.datetime64("2024-03-25T00:00", "us"), np.datetime64("2024-04-15T00:00", "us"), np.timedelta64(30, "m")
    )
    assert infer_frequency(times).code == "30m"
    change = np.datetime64("2024-04-06T16:00", "us")  # the change, in UTC
    t = int(np.searchsorted(times, change)) + 48  # a day after it
    lag = seasonal_lags(times[: t + 1].astype(np.int64), 336, 2).astype("datetime64[us]")
    assert (lag == times[t + 1 : t + 3] - np.timedelta64(7, "D")).all()  # 168 hours earlier exactly
    # ... from before the change: in Melbourne's clock an hour off the forecast step's local time
    assert lag[0] < change < times[t + 1]
    zone = ZoneInfo("Australia/Melbourne")
    local = [_as_utc(x).astimezone(zone) for x in (lag[0], times[t + 1])]
    assert (local[1].hour * 60 + local[1].minute) - (local[0].hour * 60 + local[0].minute) == -60


def _as_utc(t: np.datetime64) -> datetime:
    return datetime.fromisoformat(str(t.astype("datetime64[s]"))).replace(tzinfo=timezone.utc)


def test_parse_seasons() -> None:
    assert parse_seasons("auto") is None
    assert parse_seasons(" None ") == ()
    assert parse_seasons("336,48,48") == (48, 336)
    for bad, words in [("48,x", "'x' is not a season"), ("1", "at least 2 steps"), (",", "give seasons")]:
        with pytest.raises(argparse.ArgumentTypeError, match=words):
            parse_seasons(bad)


def test_data_seasons_take_the_option_else_check_the_candidates(tmp_path: Path) -> None:
    from tsrnn.core.config import DataConfig
    from tsrnn.data.loader import load_series

    n = 24 * 7 * 12
    times = np.arange(np.datetime64("2024-01-01T00:00"), n, dtype="datetime64[h]")
    path = tmp_path / "load.csv"
    values = _daily_weekly(n, 2.0)
    path.write_text("time,load\n" + "".join(f"{t}:00,{v:.4f}\n" for t, v in zip(times, values, strict=True)))
    data = load_series(path, DataConfig())
    assert data_seasons(data, None) == (24, 168)
    assert data_seasons(data, ()) == ()
    assert data_seasons(data, (12,)) == (12,)
    assert describe_seasons((24, 168), data.freq) == "24 (a day), 168 (a week)"
    assert describe_seasons((), data.freq) == "none"
