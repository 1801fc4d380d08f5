"""Frequency inference and the continuation of a time grid."""

from __future__ import annotations

import numpy as np
import pytest

from tsrnn.timeline.grid import grid_times
from tsrnn.timeline.timefreq import Frequency, format_times, infer_frequency


def future_times(last: np.datetime64, freq: Frequency, horizon: int) -> np.ndarray:
    return grid_times(np.repeat(last, horizon), np.arange(1, horizon + 1), freq)


def _t(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[us]")


@pytest.mark.parametrize(
    ("times", "code", "season"),
    [
        (_t("2020-01-01T00:00", "2020-01-01T00:30", "2020-01-01T01:00"), "30m", 48),
        (_t("2020-01-01T00:00", "2020-01-01T01:00", "2020-01-01T02:00"), "1h", 24),
        (_t("2020-01-01", "2020-01-02", "2020-01-03"), "1d", 7),
        (_t("2020-01-04", "2020-01-11", "2020-01-18"), "1w", 52),
        (_t("2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"), "1mo", 12),
        (_t("2020-01-01", "2020-04-01", "2020-07-01"), "3mo", 4),
        (_t("1821-01-01", "1822-01-01", "1823-01-01"), "1y", 1),
    ],
)
def test_infer_frequency(times: np.ndarray, code: str, season: int) -> None:
    f = infer_frequency(times, file="x.csv")
    assert (f.code, f.season) == (code, season)


def test_month_end_dates_continue_on_month_ends() -> None:
    f = infer_frequency(_t("2020-01-31", "2020-02-29", "2020-03-31"), file="x.csv")
    assert f.month_end
    assert [str(d)[:10] for d in future_times(np.datetime64("2020-03-31", "us"), f, 3)] == [
        "2020-04-30",
        "2020-05-31",
        "2020-06-30",
    ]


def test_business_days_skip_weekends() -> None:
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-03-01"))
    days = days[np.is_busday(days)].astype("datetime64[us]")
    f = infer_frequency(days, file="x.csv")
    assert f.code == "1bd" and f.season == 5
    nxt = future_times(np.datetime64("2024-03-01", "us"), f, 2)  # a Friday
    assert [str(d)[:10] for d in nxt] == ["2024-03-04", "2024-03-05"]


def test_quarter_grid_and_future() -> None:
    f = infer_frequency(_t("2019-01-01", "2019-04-01", "2019-07-01"), file="x.csv")
    grid = grid_times(np.repeat(np.datetime64("2019-01-01", "us"), 5), np.arange(5), f)
    assert str(grid[-1])[:10] == "2020-01-01"
    assert str(future_times(grid[-1], f, 1)[0])[:10] == "2020-04-01"


def test_format_times_dates_and_utc() -> None:
    assert format_times(_t("2020-01-01"), utc=False) == ["2020-01-01"]
    assert format_times(_t("2020-01-01T13:30"), utc=True) == ["2020-01-01T13:30:00Z"]
