"""The loader's express lane gives exactly what the full loader gives for the same table (the series, the report,
the errors and their messages), or steps aside (None) for anything it does not take."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, composite

from tsrnn.core.config import DataConfig
from tsrnn.core.errors import TsrnnError
from tsrnn.data.express import express_series
from tsrnn.data.loader import SeriesSet, demo_path, load_raw
from tsrnn.data.parquetio import raw_from_frame, rows_named, rows_text
from tsrnn.timeline.timefreq import DAY, US

Columns = dict[str, list[Any]]


def full_loader(cfg: DataConfig, columns: Columns) -> SeriesSet | TsrnnError:
    """The table as the server's full path reads a JSON request: time and id as text, a column of numbers (or
    nulls) as numbers, any other as text."""
    text = {cfg.time_col, cfg.id_col}
    frame = {}
    for c, cells in columns.items():
        if c not in text and all(type(v) in (int, float) or v is None for v in cells):
            frame[c] = pl.Series(c, cells, dtype=pl.Float64)
        else:
            frame[c] = pl.Series(c, [None if v is None else str(v) for v in cells], dtype=pl.String)
    ids = (cfg.id_col,) if cfg.id_col else ()
    try:
        with rows_named(rows_text):
            return load_raw(raw_from_frame(pl.DataFrame(frame), Path("request"), name="request", ids=ids), cfg)
    except TsrnnError as exc:
        return exc


def express(cfg: DataConfig, columns: Columns) -> SeriesSet | TsrnnError | None:
    assert cfg.time_col is not None
    values = {c: v for c, v in columns.items() if c not in (cfg.time_col, cfg.id_col)}
    try:
        with rows_named(rows_text):
            return express_series(cfg, "request", columns[cfg.time_col], columns.get(cfg.id_col or ""), values)
    except TsrnnError as exc:
        return exc


def assert_same(got: SeriesSet | TsrnnError, want: SeriesSet | TsrnnError) -> None:
    if isinstance(want, TsrnnError):
        assert isinstance(got, TsrnnError), "the express lane loaded what the loader refuses"
        assert (type(got), got.message) == (type(want), want.message)
        return
    assert isinstance(got, SeriesSet), got
    for name in ("path", "time_col", "id_col", "targets", "features", "freq", "utc", "ids", "report", "future_names"):
        assert getattr(got, name) == getattr(want, name), name
    for name in ("times", "values", "filled", "future"):
        a, b = getattr(got, name), getattr(want, name)
        assert (a is None) == (b is None), name
        for x, y in zip(a or [], b or [], strict=True):
            assert x.dtype == y.dtype and np.array_equal(x, y), name


def check(cfg: DataConfig, columns: Columns, taken: bool | None = True) -> SeriesSet | TsrnnError | None:
    """Express and full loader agree; `taken`: the express lane must take the table (True), step aside (False),
    or either."""
    got = express(cfg, columns)
    if taken is not None:
        assert (got is not None) == taken
    if got is not None:
        assert_same(got, full_loader(cfg, columns))
    return got


def stamps(start: str, step_us: int, n: int, form: str = "T") -> list[str]:
    t = np.datetime64(start, "us") + np.arange(n) * np.timedelta64(step_us, "us")
    text = [str(x) for x in t.astype("datetime64[s]")]
    return [s.replace("T", " ") for s in text] if form == " " else text


ONE = DataConfig(time_col="time", targets=("y",), sessions="none")
LONG = DataConfig(time_col="time", targets=("y",), features=("x",), id_col="id", sessions="none")


def test_the_demo_months_load_as_the_loader_loads_them() -> None:
    demo = pl.read_csv(demo_path())
    cfg = DataConfig(time_col="time", targets=("passengers",), sessions="none")
    got = check(cfg, {"time": demo["time"].to_list(), "passengers": demo["passengers"].to_list()})
    assert isinstance(got, SeriesSet) and got.freq.code == "1mo" and len(got.values[0]) == demo.height


@pytest.mark.parametrize(
    "start,step,form,code",
    [
        ("2024-01-01", 3600 * US, "T", "1h"),
        ("2024-03-30", 1800 * US, " ", "30m"),
        ("2024-01-01", DAY, "D", "1d"),
        ("2024-01-07", 7 * DAY, "D", "1w"),
        ("2024-01-01T00:00:07", 15 * US, "T", "15s"),
    ],
)
def test_fixed_steps_in_each_form(start: str, step: int, form: str, code: str) -> None:
    times = stamps(start, step, 60, form)
    if form == "D":
        times = [t[:10] for t in times]
    got = check(ONE, {"time": times, "y": [float(i % 7) for i in range(60)]})
    assert isinstance(got, SeriesSet) and got.freq.code == code


def test_business_days_month_ends_and_quarters() -> None:
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-04-01"))
    weekdays = [str(d) for d in days if (d.astype(np.int64) + 3) % 7 < 5]
    month_ends = [str(m + 1 - np.timedelta64(1, "D")) for m in np.arange(24).astype("datetime64[M]") + 600]
    quarters = [str(np.datetime64("2000-01") + np.timedelta64(3 * i, "M")) + "-01" for i in range(20)]
    codes = []
    for times in (weekdays, month_ends, quarters):
        got = check(ONE, {"time": times, "y": list(range(len(times)))})
        assert isinstance(got, SeriesSet)
        codes.append(got.freq.code)
    assert codes == ["1bd", "1mo", "3mo"]


def test_many_series_of_several_columns_gaps_and_order() -> None:
    times = stamps("2024-01-01", 3600 * US, 50)
    columns: Columns = {"id": [], "time": [], "y": [], "x": []}
    for k, keep in enumerate([slice(None), slice(5, 45), slice(0, 50, 1)]):
        t = times[keep]
        if k == 2:  # a gap of three hours, interpolated
            t = t[:20] + t[23:]
        columns["id"] += [f"s{k}"] * len(t)
        columns["time"] += t
        columns["y"] += [float(i) for i in range(len(t))]
        columns["x"] += [i % 3 for i in range(len(t))]
    got = check(LONG, columns)
    assert isinstance(got, SeriesSet) and got.ids == ["s0", "s1", "s2"] and got.report.filled_rows == 3
    swapped = {c: [*v[:10], v[11], v[10], *v[12:]] for c, v in columns.items()}  # two rows out of time order
    got = check(LONG, swapped)
    assert isinstance(got, SeriesSet) and got.report.sorted_rows


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["time"].__setitem__(3, c["time"][2]),  # a duplicated time
        lambda c: c["time"].__setitem__(3, c["time"][3][:-5] + "30:00"),  # off the hourly grid
        lambda c: c["time"].__setitem__(slice(3, None), stamps("2200-01-01", 3600 * US, 57)),  # a jump of 176 years
    ],
    ids=["duplicate", "off-grid", "huge-jump"],
)
def test_the_shared_stages_refuse_with_the_loaders_message(change: Any) -> None:
    columns: Columns = {"time": stamps("2024-01-01", 3600 * US, 60), "y": [1.0] * 60}
    change(columns)
    got = check(ONE, columns)
    assert isinstance(got, TsrnnError) and "request" in got.message and "row" in got.message


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["y"].__setitem__(4, None),  # an empty cell: interpolated by the loader
        lambda c: c["y"].__setitem__(4, float("nan")),
        lambda c: c["y"].__setitem__(4, float("inf")),
        lambda c: c["y"].__setitem__(4, 1e39),  # beyond float32
        lambda c: c["y"].__setitem__(4, 10**400),  # beyond any float
        lambda c: c["y"].__setitem__(4, True),
        lambda c: c["y"].__setitem__(4, "12"),
        lambda c: c["time"].__setitem__(4, c["time"][4] + "Z"),
        lambda c: c["time"].__setitem__(slice(None), [t + "+01:00" for t in c["time"]]),
        lambda c: c["time"].__setitem__(slice(None), [t + ".5" for t in c["time"]]),
        lambda c: c["time"].__setitem__(slice(None), [t[:16] for t in c["time"]]),  # no seconds
        lambda c: c["time"].__setitem__(4, "2024-01-01T25:00:00"),
        lambda c: c["time"].__setitem__(4, "1970-01-01T00:00:60"),
        lambda c: c["time"].__setitem__(4, 1704067200),
        lambda c: c["time"].__setitem__(4, "01/01/2024"),
        lambda c: c.__setitem__("extra", [1.0] * 60),
        lambda c: c.pop("y"),
        lambda c: c.__setitem__("time", []) or c.__setitem__("y", []),
    ],
)
def test_anything_else_goes_to_the_full_loader(change: Any) -> None:
    columns: Columns = {"time": stamps("2024-01-01", 3600 * US, 60), "y": [1.0] * 60}
    change(columns)
    assert express(ONE, columns) is None


@pytest.mark.parametrize(
    "ids",
    [
        [1] * 30 + [2] * 30,  # numbers: text in the loader's ids
        ["a"] * 20 + ["b"] * 20 + ["a"] * 20,  # a series in two runs
        ["a"] * 30 + [None] * 30,
    ],
)
def test_ids_other_than_text_in_runs_go_to_the_full_loader(ids: list[Any]) -> None:
    times = stamps("2024-01-01", 3600 * US, 30) * 2
    columns: Columns = {"id": ids, "time": times, "y": [1.0] * 60, "x": [0.0] * 60}
    assert express(LONG, columns) is None


TIMES = [
    "2024-01-01",
    "2024-02-29",
    "2023-02-29",
    "0000-01-01",
    "9999-12-31",
    "2024-01-01T00:00:00",
    "2024-01-01 23:59:59",
    "2024-01-01T24:00:00",
    "2024-13-01T00:00:00",
    "2024-1-01",
]


@composite
def tables(draw: DrawFn) -> Columns:
    """A small long table: regular grids at a drawn step, then cells replaced, rows dropped, repeated or swapped."""
    step = draw(st.sampled_from([1800 * US, 3600 * US, DAY, 7 * DAY, 31 * DAY]))
    n_series = draw(st.integers(1, 3))
    columns: Columns = {"id": [], "time": [], "y": [], "x": []}
    for k in range(n_series):
        n = draw(st.integers(1, 12))
        start = f"2024-0{draw(st.integers(1, 9))}-0{draw(st.integers(1, 9))}"
        t = stamps(start, step, n, draw(st.sampled_from(["T", " "])))
        if step >= DAY and draw(st.booleans()):
            t = [s[:10] for s in t]
        columns["id"] += [draw(st.sampled_from([f"s{k}"] * 6 + ["s0", "", 7]))] * n
        columns["time"] += t
        columns["y"] += draw(st.lists(st.integers(-5, 5) | st.floats(-1e3, 1e3), min_size=n, max_size=n))
        columns["x"] += [float(i) for i in range(n)]
    rows = len(columns["time"])
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, rows - 1))
        what = draw(st.sampled_from(["time", "time-list", "y-null", "y-nan", "swap", "copy"]))
        if what == "time":
            columns["time"][i] = columns["time"][draw(st.integers(0, rows - 1))]
        elif what == "time-list":
            columns["time"][i] = draw(st.sampled_from(TIMES))
        elif what == "y-null":
            columns["y"][i] = None
        elif what == "y-nan":
            columns["y"][i] = float("nan")
        elif i + 1 < rows:
            for c in columns.values():
                if what == "swap":
                    c[i], c[i + 1] = c[i + 1], c[i]
                else:
                    c[i + 1] = c[i]
    return columns


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_express_and_full_loader_agree(columns: Columns) -> None:
    check(LONG, columns, taken=None)
