"""Calendar features against values computed by hand; holiday tables; the torch-free import."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tsrnn.core.errors import ConfigError, ModelFileError
from tsrnn.timeline import calendar
from tsrnn.timeline.calendar import (
    FEATURES,
    HolidayCalendar,
    build_holidays,
    calendar_columns,
    calendar_features,
    default_calendar,
    holiday_features,
    holiday_years,
    local_times,
    parse_calendar,
    time_features,
)
from tsrnn.timeline.timefreq import DAY, US, Frequency

FREQ = {
    "10s": Frequency("10s", "every 10 seconds", 1, step_us=10 * US),
    "30m": Frequency("30m", "every 30 minutes", 48, step_us=1800 * US),
    "1h": Frequency("1h", "hourly", 24, step_us=3600 * US),
    "36h": Frequency("36h", "every 36 hours", 1, step_us=36 * 3600 * US),
    "1d": Frequency("1d", "daily", 7, step_us=DAY),
    "1bd": Frequency("1bd", "business days", 5),
    "3d": Frequency("3d", "every 3 days", 1, step_us=3 * DAY),
    "1w": Frequency("1w", "weekly", 52, step_us=7 * DAY),
    "14d": Frequency("14d", "every 14 days", 1, step_us=14 * DAY),
    "1mo": Frequency("1mo", "monthly", 12, months=1),
    "1mo-end": Frequency("1mo", "monthly (month end)", 12, months=1, month_end=True),
    "3mo": Frequency("3mo", "quarterly", 4, months=3),
    "6mo": Frequency("6mo", "half-yearly", 2, months=6),
    "1y": Frequency("1y", "yearly", 1, months=12),
}
MELBOURNE = "Australia/Melbourne"


def ts(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[us]")


def pairs(times: np.ndarray, name: str, tz: str | None = None) -> np.ndarray:
    """(T, 2) sin, cos of one feature."""
    return time_features(times, (name,), tz=tz).astype(np.float64)


def local_hours(times: np.ndarray, tz: str | None = None) -> np.ndarray:
    """The hour of day that hour_sin/hour_cos encode."""
    sin, cos = pairs(times, "hour", tz).T
    return np.round(np.mod(np.arctan2(sin, cos), 2 * np.pi) * 24 / (2 * np.pi), 4)


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("10s", ("hour", "dow")),
        ("30m", ("hour", "dow")),
        ("1h", ("hour", "dow")),
        ("36h", ("hour", "dow")),
        ("1d", ("dow", "doy")),
        ("1bd", ("dow", "doy")),
        ("3d", ("doy",)),
        ("1w", ("woy",)),
        ("14d", ("doy",)),
        ("1mo", ("month",)),
        ("1mo-end", ("month",)),
        ("3mo", ("quarter",)),
        ("6mo", ("month",)),
        ("1y", ()),
    ],
)
def test_default_calendar_by_frequency(freq: str, expected: tuple[str, ...]) -> None:
    assert default_calendar(FREQ[freq]) == expected
    assert parse_calendar("auto", FREQ[freq]) == expected
    if expected:  # the defaults are never constant at their frequency
        assert parse_calendar(",".join(expected), FREQ[freq]) == expected


def test_sub_daily_hour_and_dow() -> None:
    times = ts("2024-01-01T06:00", "2024-01-03T18:30", "2024-01-07T00:00", "2024-01-07T00:00:36")
    got = time_features(times, default_calendar(FREQ["30m"]))
    expected = np.array(
        [
            [1, 0, 0, 1],  # 06:00 -> 90°; Monday = 0 -> 0°
            [-0.991445, 0.130526, 0.974928, -0.222521],  # 18.5 h -> 277.5°; Wednesday = 2 -> 102.857°
            [0, 1, -0.781831, 0.623490],  # midnight -> 0°; Sunday = 6 -> 308.571°
            [0.002618, 0.999997, -0.781831, 0.623490],  # 36 s = 0.01 h -> 0.15°
        ]
    )
    np.testing.assert_allclose(got, expected, atol=2e-6)
    assert got.dtype == np.float32 and calendar_columns(("hour", "dow"), False) == [
        "hour_sin",
        "hour_cos",
        "dow_sin",
        "dow_cos",
    ]


def test_daily_dow_and_doy_leap_years() -> None:
    times = ts("2024-01-01", "2024-02-29", "2023-12-31", "2024-12-31", "2024-01-05")
    got = time_features(times, default_calendar(FREQ["1d"]))
    expected = np.array(
        [
            [0, 1, 0.017166, 0.999853],  # Monday; day 1 of 366 -> 0.984°
            [0.433884, -0.900969, 0.857315, 0.514793],  # Thursday = 3 -> 154.286°; day 60 of 366 -> 59.016°
            [-0.781831, 0.623490, 0, 1],  # Sunday; day 365 of 365 -> 360°
            [0.781831, 0.623490, 0, 1],  # Tuesday = 1 -> 51.429°; day 366 of 366 -> 360°
            [-0.433884, -0.900969, 0.085731, 0.996318],  # Friday = 4 -> 205.714°; day 5 of 366 -> 4.918°
        ]
    )
    np.testing.assert_allclose(got, expected, atol=2e-6)


def test_business_days_and_every_n_days() -> None:
    friday, monday = ts("2024-03-01", "2024-03-04")
    got = time_features(np.array([friday, monday]), default_calendar(FREQ["1bd"]))
    np.testing.assert_allclose(got[:, :2], [[-0.433884, -0.900969], [0, 1]], atol=2e-6)
    got = time_features(ts("2023-03-01"), default_calendar(FREQ["3d"]))
    np.testing.assert_allclose(got, [[0.858764, 0.512371]], atol=2e-6)  # day 60 of 365 -> 59.178°


def test_day_of_month_ends_line_up() -> None:
    times = ts("2024-02-29", "2023-02-28", "2024-01-31", "2024-04-30", "2024-02-01", "2023-02-01")
    got = pairs(times, "dom")
    np.testing.assert_allclose(got[:4], [[0, 1]] * 4, atol=2e-6)  # the last day of any month -> 360°
    np.testing.assert_allclose(got[4:], [[0.214970, 0.976621], [0.222521, 0.974928]], atol=2e-6)  # 1/29, 1/28


def test_iso_week_53() -> None:
    # 2020 has 53 ISO weeks: 2019-12-30 opens week 1 and 2021-01-03 closes week 53; 2021 has 52.
    times = ts("2019-12-30", "2020-12-31", "2021-01-03", "2021-01-04", "2024-12-30")
    got = time_features(times, default_calendar(FREQ["1w"]))
    expected = [
        [0.118273, 0.992981],  # week 1 of 53 -> 6.792°
        [0, 1],
        [0, 1],  # week 53 of 53 -> 360°
        [0.120537, 0.992709],  # week 1 of 52 -> 6.923°
        [0.120537, 0.992709],  # week 1 of ISO 2025 (52 weeks)
    ]
    np.testing.assert_allclose(got, expected, atol=2e-6)


def test_month_quarter_half_year_and_year() -> None:
    np.testing.assert_allclose(
        time_features(ts("2024-03-01", "2024-02-29"), default_calendar(FREQ["1mo"])),
        [[0.866025, 0.5], [0.5, 0.866025]],
        atol=2e-6,
    )  # March = 2 -> 60°; February 30°
    np.testing.assert_allclose(
        time_features(ts("2024-07-01", "2024-12-31"), default_calendar(FREQ["3mo"])), [[0, -1], [-1, 0]], atol=2e-6
    )  # Q3 = 2 -> 180°; Q4 = 3 -> 270°
    np.testing.assert_allclose(
        time_features(ts("2024-01-01", "2024-07-01"), default_calendar(FREQ["6mo"])), [[0, 1], [0, -1]], atol=2e-6
    )
    assert time_features(ts("2024-01-01", "2025-01-01"), default_calendar(FREQ["1y"])).shape == (2, 0)


def test_melbourne_clocks_go_back() -> None:
    # 2024-04-07 03:00 AEDT (UTC+11) becomes 02:00 AEST (UTC+10) at 16:00Z: 02:00 and 02:30 happen twice.
    grid = np.arange(
        np.datetime64("2024-04-06T13:00", "us"), np.datetime64("2024-04-06T18:00", "us"), np.timedelta64(30, "m")
    )
    assert list(local_hours(grid, MELBOURNE)) == [0, 0.5, 1, 1.5, 2, 2.5, 2, 2.5, 3, 3.5]
    assert list(local_hours(grid)) == [13, 13.5, 14, 14.5, 15, 15.5, 16, 16.5, 17, 17.5]  # the UTC clock
    sunday = [-0.781831, 0.623490]
    np.testing.assert_allclose(pairs(grid, "dow", MELBOURNE), [sunday] * len(grid), atol=2e-6)
    assert str(local_times(ts("2024-04-06T12:30"), MELBOURNE)[0]) == "2024-04-06T23:30:00.000000"


def test_melbourne_clocks_go_forward() -> None:
    # 2024-10-06 02:00 AEST becomes 03:00 AEDT at 2024-10-05T16:00Z: 02:00 to 02:59 never happen.
    grid = np.arange(
        np.datetime64("2024-10-05T14:00", "us"), np.datetime64("2024-10-05T18:00", "us"), np.timedelta64(30, "m")
    )
    assert list(local_hours(grid, MELBOURNE)) == [0, 0.5, 1, 1.5, 3, 3.5, 4, 4.5]


def test_time_zone_over_many_years_and_bad_name() -> None:
    # Summer (UTC+11) and winter (UTC+10) noon UTC over 30 years: offsets from the bisected transition table.
    jan = np.array([f"{y}-01-15T12:00" for y in range(1995, 2025)], dtype="datetime64[us]")
    jul = np.array([f"{y}-07-15T12:00" for y in range(1995, 2025)], dtype="datetime64[us]")
    assert set(local_hours(np.concatenate([jan, jul]), MELBOURNE)) == {23.0, 22.0}
    assert set(local_hours(jan, MELBOURNE)) == {23.0}
    with pytest.raises(ConfigError, match="Australia/Melbourne"):
        time_features(jan, ("hour",), tz="Australia/Melborne")


def test_pieces_and_sparse_rows_match(monkeypatch: pytest.MonkeyPatch) -> None:
    times = np.arange(
        np.datetime64("2023-12-20T05:00", "us"), np.datetime64("2024-01-20", "us"), np.timedelta64(7, "h")
    )
    whole = time_features(times, FEATURES, tz=MELBOURNE)
    monkeypatch.setattr(calendar, "_PIECE", 5)
    np.testing.assert_array_equal(time_features(times, FEATURES, tz=MELBOURNE), whole)
    far = np.concatenate([times[:1], ts("2150-06-01")])  # too far apart for a table of days
    np.testing.assert_allclose(time_features(far, FEATURES)[0], time_features(times[:1], FEATURES)[0], atol=1e-7)


@pytest.mark.parametrize(
    ("text", "freq", "message"),
    [
        ("hour", "1d", "'hour' is constant on daily data"),
        ("dow", "1w", "same day of the week"),
        ("dow", "14d", "same day of the week"),
        ("month", "1y", "'month' is constant on yearly data"),
        ("dom", "1mo-end", "same day of the month"),
        ("hour", "1bd", "same time of day"),
        ("week", "1d", "unknown feature 'week'; use auto, none or a comma-separated list of hour, dow, dom"),
        ("dow,dow", "1d", "dow named twice"),
    ],
)
def test_parse_calendar_errors(text: str, freq: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_calendar(text, FREQ[freq])


def test_parse_calendar_lists() -> None:
    assert parse_calendar("none", FREQ["1h"]) == ()
    assert parse_calendar(" Hour, DOY ", FREQ["1h"]) == ("hour", "doy")
    assert parse_calendar("dow,woy", FREQ["1mo"]) == ("dow", "woy")  # weekdays of month starts do vary


def test_holidays_victoria_2014() -> None:
    cal = build_holidays("AU:VIC", (2014, 2014))
    assert (cal.country, cal.subdiv, cal.spec, cal.first_year, cal.last_year) == ("AU", "VIC", "AU:VIC", 2014, 2014)
    times = ts(
        "2014-11-03",
        "2014-11-04T13:30",
        "2014-11-05",
        "2014-12-24",
        "2014-12-25",
        "2014-12-26",
        "2014-12-27",
        "2014-12-31",
        "2014-07-01",
    )
    expected = [
        [0, 1, 0],  # the day before Melbourne Cup Day
        [1, 0, 0],  # Melbourne Cup Day, at any time of day
        [0, 0, 1],
        [0, 1, 0],  # Christmas Eve
        [1, 1, 0],  # Christmas Day, the day before Boxing Day
        [1, 0, 1],  # Boxing Day, the day after Christmas
        [0, 0, 1],
        [0, 1, 0],  # New Year's Day 2015 is stored so the last stored year's flags are complete
        [0, 0, 0],
    ]
    np.testing.assert_array_equal(holiday_features(times, cal), expected)
    assert calendar_columns((), True) == ["holiday", "day_before", "day_after"]


def test_holidays_us_2024_and_local_dates() -> None:
    cal = build_holidays("us", range(2024, 2025))
    np.testing.assert_array_equal(
        holiday_features(ts("2024-07-03", "2024-07-04", "2024-07-05"), cal), [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    )
    # 2024-07-04T20:00Z is 06:00 on the 5th in Melbourne: the day after the holiday there.
    np.testing.assert_array_equal(holiday_features(ts("2024-07-04T20:00"), cal, tz=MELBOURNE), [[0, 0, 1]])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("XX", r"unknown country code 'XX'.*list_supported_countries"),
        ("Australia", r"did you mean AU\?"),
        ("AU:ZZ", r"AU has no subdivision 'ZZ'; valid subdivisions of AU: ACT, NSW, NT, QLD, SA, TAS, VIC, WA"),
        ("SG:X", "SG has no subdivisions; write just SG"),
    ],
)
def test_holiday_codes_wrong(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_holidays(spec, (2020, 2021))


def test_holiday_codes_any_case_and_aliases() -> None:
    assert build_holidays("de:bayern", (2024, 2024)).spec == "DE:BY"
    assert build_holidays("AU:Victoria", (2024, 2024)).spec == "AU:VIC"
    assert build_holidays("UK", (2024, 2024)).country == "GB"


def test_holidays_package_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(ConfigError, match=r"pip install 'tsrnn\[train\]'"):
        build_holidays("AU:VIC", (2014, 2014))


def test_holiday_calendar_round_trip_and_coverage() -> None:
    cal = build_holidays("DE:BY", (2012, 2035))
    back = HolidayCalendar.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back == cal and back.dates[0] >= "2011-12-31" and back.dates[-1] == "2036-01-01"
    assert cal.covers(ts("2012-01-01", "2035-12-31T23:00"))
    assert not cal.covers(ts("2035-12-31", "2036-01-02"))
    assert cal.first_date_beyond(ts("2035-12-31", "2036-03-01", "2036-01-02")) == np.datetime64("2036-01-02")
    assert cal.first_date_beyond(ts("2035-12-31T13:30")) is None
    assert cal.first_date_beyond(ts("2035-12-31T13:30"), tz=MELBOURNE) == np.datetime64("2036-01-01")
    with pytest.raises(ModelFileError, match="holiday calendar"):
        HolidayCalendar.from_dict({"country": "DE"})


def test_holiday_years_span() -> None:
    assert holiday_years([ts("2012-01-01", "2013-06-01"), ts("2014-12-31T23:30")]) == (2012, 2024)


def test_calendar_features_column_order() -> None:
    cal = build_holidays("US", (2024, 2024))
    times = ts("2024-07-04T06:00")
    got = calendar_features(times, ("hour", "dow"), cal)
    assert got.shape == (1, len(calendar_columns(("hour", "dow"), True))) == (1, 7)
    np.testing.assert_allclose(got, [[1, 0, 0.433884, -0.900969, 1, 0, 0]], atol=2e-6)  # Thursday


def test_import_needs_no_torch_polars_or_holidays() -> None:
    code = (
        "import sys, tsrnn.timeline.calendar; "
        "bad = [m for m in ('torch', 'polars', 'holidays') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
