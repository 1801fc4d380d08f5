"""Session calendars: detection from timestamps, open-slot indexing, continuation and the stored form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tsrnn.timeline.sessions import DAY, SessionCalendar, detect_sessions

MIN = 60_000_000
HOUR = 60 * MIN
WEEKDAYS = range(5)


def _rows(
    first_day: str, n_days: int, hours: dict[int, list[tuple[str, str]]], step_us: int, skip: tuple[str, ...] = ()
) -> np.ndarray:
    """Timestamps every step_us from a to b inclusive for each (a, b) of each day's weekday (Mon=0)."""
    step = np.timedelta64(step_us, "us")
    out = []
    for day in np.arange(np.datetime64(first_day), np.datetime64(first_day) + n_days):
        if str(day) in skip:
            continue
        for a, b in hours.get(int((day.astype(np.int64) + 3) % 7), []):
            out.append(np.arange(np.datetime64(f"{day}T{a}", "us"), np.datetime64(f"{day}T{b}", "us") + step, step))
    return np.concatenate(out)


def _t(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[us]")


SHOP = {d: [("09:00", "11:30"), ("13:00", "17:00")] for d in WEEKDAYS}
HOLIDAY = "2024-01-15"  # a Monday


@pytest.fixture(scope="module")
def shop() -> np.ndarray:
    """Ten weeks of a half-hourly weekday series with a lunch break, one public holiday and a few lost slots."""
    times = _rows("2024-01-01", 70, SHOP, 30 * MIN, skip=(HOLIDAY,))
    lost = np.isin(times, _t("2024-01-03T10:00", "2024-02-07T16:30", "2024-02-21T09:00"))
    return times[~lost]


def test_detects_weekday_hours_with_lunch_break(shop: np.ndarray) -> None:
    cal = detect_sessions(shop, 30 * MIN)
    assert cal is not None
    day = tuple(range(18, 24)) + tuple(range(26, 35))  # 09:00..11:30 and 13:00..17:00 in half hours
    assert cal.slots == (day,) * 5 + ((), ())
    assert cal.offset_us == 0
    assert cal.to_dict()["days"][0] == [[18, 23], [26, 34]]
    assert cal.steps_per_day == 15 and cal.steps_per_week == 75
    assert cal.describe() == "Mon–Fri 09:00–11:30, 13:00–17:00, 15 steps a day"


def test_holiday_is_a_gap_not_a_new_calendar(shop: np.ndarray) -> None:
    cal = detect_sessions(shop, 30 * MIN)
    assert cal is not None
    idx, on = cal.index(shop, shop[0])
    assert on.all()
    before = np.flatnonzero(shop == np.datetime64("2024-01-12T17:00"))[0]  # the Friday before
    assert shop[before + 1] == np.datetime64("2024-01-16T09:00")
    assert idx[before + 1] - idx[before] == 1 + 15  # Monday's 15 open slots are missing
    assert idx[-1] + 1 - len(shop) == 15 + 3  # the holiday and the three lost slots
    assert np.all(np.diff(idx) >= 1)


def test_index_and_times_round_trip(shop: np.ndarray) -> None:
    cal = detect_sessions(shop, 30 * MIN)
    assert cal is not None
    idx, _ = cal.index(shop, shop[0])
    assert np.array_equal(cal.times(shop[0], idx), shop)
    assert np.array_equal(cal.times(np.repeat(shop[0], len(idx)), idx), shop)
    every = cal.times(shop[0], np.arange(idx[-1] + 1))  # the whole calendar grid, gaps included
    assert len(every) == 10 * 75 and np.isin(shop, every).all()
    assert np.array_equal(cal.index(every, shop[0])[0], np.arange(len(every)))


def test_next_slots_skip_nights_weekends_and_lunch(shop: np.ndarray) -> None:
    cal = detect_sessions(shop, 30 * MIN)
    assert cal is not None
    assert np.array_equal(
        cal.next_slots(np.datetime64("2024-03-08T17:00"), 3),
        _t("2024-03-11T09:00", "2024-03-11T09:30", "2024-03-11T10:00"),
    )
    assert np.array_equal(
        cal.next_slots(np.datetime64("2024-03-06T11:30"), 2), _t("2024-03-06T13:00", "2024-03-06T13:30")
    )
    nxt = cal.next_slots(np.datetime64("2024-03-08T17:00"), 75)
    assert nxt[-1] == np.datetime64("2024-03-15T17:00")  # one open week later


def test_closed_slots_and_off_step_times_are_off_grid(shop: np.ndarray) -> None:
    cal = detect_sessions(shop, 30 * MIN)
    assert cal is not None
    times = _t("2024-01-02T12:00", "2024-01-06T10:00", "2024-01-02T09:10", "2024-01-02T08:30", "2024-01-02T13:00")
    idx, on = cal.index(times, shop[0])
    assert on.tolist() == [False, False, False, False, True]
    # an off-grid time counts as the last open slot before it
    assert idx.tolist() == [15 + 5, 75 - 1, 15, 15 - 1, 15 + 6]


def test_round_the_clock_and_daily_series_have_no_sessions() -> None:
    hourly = np.arange(
        np.datetime64("2024-01-01T00:00", "us"), np.datetime64("2024-03-11T00:00", "us"), np.timedelta64(1, "h")
    )
    rng = np.random.default_rng(0)
    assert detect_sessions(hourly[rng.random(len(hourly)) > 0.1], HOUR) is None  # 10% of rows missing
    assert detect_sessions(hourly, HOUR) is None
    daily = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-06-01")).astype("datetime64[us]")
    assert detect_sessions(daily, DAY) is None
    assert detect_sessions(daily[np.is_busday(daily.astype("datetime64[D]"))], DAY) is None
    assert detect_sessions(daily[::7], 7 * DAY) is None


def test_call_centre_five_minute_steps() -> None:
    times = _rows("2024-01-01", 28, {d: [("07:00", "21:00")] for d in WEEKDAYS}, 5 * MIN)
    cal = detect_sessions(times, 5 * MIN)
    assert cal is not None
    assert cal.describe() == "Mon–Fri 07:00–21:00, 169 steps a day"
    assert cal.steps_per_day == 169 and cal.steps_per_week == 5 * 169
    assert cal.next_slots(times[-1], 1)[0] == np.datetime64("2024-01-29T07:00")


def test_shorter_saturday_is_grouped_apart() -> None:
    hours = {d: [("09:00", "17:00")] for d in WEEKDAYS} | {5: [("09:00", "13:00")]}
    times = _rows("2024-01-01", 42, hours, HOUR)
    cal = detect_sessions(times, HOUR)
    assert cal is not None
    assert cal.slots[5] == tuple(range(9, 14)) and cal.slots[6] == ()
    assert cal.steps_per_day == 9 and cal.steps_per_week == 5 * 9 + 5
    assert cal.describe() == "Mon–Fri 09:00–17:00; Sat 09:00–13:00, 9 steps a day"
    assert cal.next_slots(np.datetime64("2024-01-06T13:00"), 1)[0] == np.datetime64("2024-01-08T09:00")


def test_one_special_saturday_does_not_open_saturdays(shop: np.ndarray) -> None:
    extra = _t("2024-02-10T09:00", "2024-02-10T09:30", "2024-02-10T10:00")
    times = np.sort(np.r_[shop, extra])
    cal = detect_sessions(times, 30 * MIN)
    assert cal is not None and cal.slots[5] == ()
    assert not cal.index(extra, shop[0])[1].any()


def test_rows_off_the_calendar_beyond_the_limit_mean_no_sessions(shop: np.ndarray) -> None:
    saturdays = _rows("2024-01-06", 7, {5: [("09:00", "17:00")]}, 30 * MIN)  # 17 rows: 2.3% of them
    assert detect_sessions(np.sort(np.r_[shop, saturdays]), 30 * MIN) is None


def test_several_series_share_one_calendar() -> None:
    a = _rows("2024-01-01", 35, SHOP, 30 * MIN, skip=(HOLIDAY,))
    b = _rows("2024-01-17", 40, SHOP, 30 * MIN)  # starts on a Wednesday
    times = np.r_[a, b]
    codes = np.repeat([0, 1], [len(a), len(b)])
    cal = detect_sessions(times, 30 * MIN, codes)
    assert cal is not None and cal.describe() == "Mon–Fri 09:00–11:30, 13:00–17:00, 15 steps a day"
    starts = np.array([a[0], b[0]])[codes]
    idx, on = cal.index(times, starts)
    assert on.all() and idx[len(a)] == 0
    assert np.array_equal(cal.times(starts, idx), times)


def test_slots_off_the_hour() -> None:
    times = _rows("2024-01-01", 21, {d: [("09:30", "15:30")] for d in WEEKDAYS}, HOUR)  # hourly bars at :30
    cal = detect_sessions(times, HOUR)
    assert cal is not None and cal.offset_us == 30 * MIN
    assert cal.describe() == "Mon–Fri 09:30–15:30, 7 steps a day"
    idx, on = cal.index(times, times[0])
    assert on.all() and np.array_equal(idx, np.arange(len(times)))
    assert not cal.index(_t("2024-01-02T10:00"), times[0])[1][0]
    assert cal.next_slots(times[-1], 1)[0] == np.datetime64("2024-01-22T09:30")


def test_session_across_midnight_and_the_week_boundary() -> None:
    """A futures market: Sunday 18:00 to Friday 17:00 with a daily break at 17:00."""
    night = [("18:00", "23:00")]
    day = [("00:00", "16:00")]
    hours = {0: day + night, 1: day + night, 2: day + night, 3: day + night, 4: day, 6: night}
    times = _rows("2024-01-07", 28, hours, HOUR)  # from a Sunday
    cal = detect_sessions(times, HOUR)
    assert cal is not None
    assert cal.describe() == "Mon–Thu 00:00–16:00, 18:00–23:00; Fri 00:00–16:00; Sun 18:00–23:00, 23 steps a day"
    idx, on = cal.index(times, times[0])
    assert on.all() and np.array_equal(idx, np.arange(len(times)))
    assert np.array_equal(cal.times(times[0], idx), times)
    assert cal.next_slots(np.datetime64("2024-01-12T16:00"), 1)[0] == np.datetime64("2024-01-14T18:00")


def test_dates_before_1970_round_trip() -> None:
    times = _rows("1965-03-01", 21, SHOP, 30 * MIN)
    cal = detect_sessions(times, 30 * MIN)
    assert cal is not None
    idx, on = cal.index(times, times[0])
    assert on.all() and np.array_equal(idx, np.arange(len(times)))
    assert np.array_equal(cal.times(times[0], idx), times)


def test_less_than_two_of_each_weekday_cannot_tell() -> None:
    assert detect_sessions(_rows("2024-01-01", 5, SHOP, 30 * MIN), 30 * MIN) is None
    assert detect_sessions(_rows("2024-01-01", 12, SHOP, 30 * MIN), 30 * MIN) is None  # one weekend only
    assert detect_sessions(_rows("2024-01-01", 19, SHOP, 30 * MIN), 30 * MIN) is not None


def test_week_position(shop: np.ndarray) -> None:
    cal = detect_sessions(shop, 30 * MIN)
    assert cal is not None
    pos = cal.week_position(_t("2024-01-08T09:00", "2024-01-12T17:00", "2024-01-13T10:00", "2024-01-09T09:00"))
    assert pos.tolist() == [0.0, 74 / 75, 74 / 75, 15 / 75]


def test_dict_round_trip(shop: np.ndarray) -> None:
    cal = detect_sessions(shop, 30 * MIN)
    assert cal is not None
    d = json.loads(json.dumps(cal.to_dict()))
    assert SessionCalendar.from_dict(d) == cal
    assert hash(SessionCalendar.from_dict(d)) == hash(cal)
    assert SessionCalendar.from_dict({"step_us": HOUR, "days": [[[9, 11], [12, 16]]] + [[]] * 6}).slots[0] == tuple(
        range(9, 17)
    )  # touching runs merge; offset_us defaults to 0


GOOD = {"step_us": HOUR, "offset_us": 0, "days": [[[9, 16]]] * 5 + [[], []]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"step_us": None}, "step_us"),
        ({"step_us": 7 * MIN}, "step_us"),  # does not divide a day
        ({"step_us": DAY}, "step_us"),
        ({"step_us": True}, "step_us"),
        ({"offset_us": HOUR}, "offset_us"),
        ({"offset_us": "0"}, "offset_us"),
        ({"days": [[[9, 16]]] * 6}, "days"),
        ({"days": "Mon-Fri"}, "days"),
        ({"days": [[[9, 16]]] * 4 + [[[9, 24]]] + [[], []]}, r"days\[4\]\[0\]"),
        ({"days": [[[16, 9]]] + [[]] * 6}, r"days\[0\]\[0\]"),
        ({"days": [[[9, 12], [11, 16]]] + [[]] * 6}, r"days\[0\]\[1\]"),
        ({"days": [[[9]]] + [[]] * 6}, r"days\[0\]\[0\]"),
        ({"days": [[[9.0, 16]]] + [[]] * 6}, r"days\[0\]\[0\]"),
        ({"days": [[9, 16]] + [[]] * 6}, r"days\[0\]\[0\]"),
        ({"days": [None] + [[]] * 6}, r"days\[0\]"),
        ({"days": [[]] * 7}, "slots"),  # no open slot at all
    ],
)
def test_malformed_dict_names_the_field(change: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"'{field}"):
        SessionCalendar.from_dict(GOOD | change)


def test_missing_fields_and_non_mapping() -> None:
    with pytest.raises(ValueError, match="'days'"):
        SessionCalendar.from_dict({"step_us": HOUR})
    with pytest.raises(ValueError, match="'step_us'"):
        SessionCalendar.from_dict({"days": GOOD["days"]})
    with pytest.raises(ValueError, match="mapping"):
        SessionCalendar.from_dict([1, 2])  # type: ignore[arg-type]
