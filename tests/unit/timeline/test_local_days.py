"""Time zones: naive timestamps with --tz are local times as written; daily data at local midnight, written
with offsets or in UTC, is one step per local day across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tsrnn.core.config import TrainConfig
from tsrnn.core.errors import DataError
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster
from tsrnn.timeline.known import choose_known

MELBOURNE = "Australia/Melbourne"
ZONE = zoneinfo.ZoneInfo(MELBOURNE)


def _values(n: int) -> list[float]:
    return [round(10 + 5 * math.sin(2 * math.pi * i / 7) + 0.01 * i, 3) for i in range(n)]


def hourly_csv(path: Path, utc: bool) -> Path:
    """Ten days of hourly rows from local midnight on 2024-01-01 in Melbourne: naive local times, or the same
    instants in UTC ('Z')."""
    start = dt.datetime(2024, 1, 1, tzinfo=ZONE)
    stamps = [start + dt.timedelta(hours=h) for h in range(240)]
    text = [
        t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if utc else t.strftime("%Y-%m-%dT%H:%M:%S")
        for t in stamps
    ]
    pl.DataFrame({"time": text, "load": _values(240)}).write_csv(path)
    return path


def daily_csv(path: Path, first: dt.date, days: int, style: str) -> Path:
    """One row per local day at Melbourne midnight: with its offset (+11:00 / +10:00), in UTC ('Z', 13:00 or
    14:00), or naive."""
    rows = []
    for i in range(days):
        d = first + dt.timedelta(days=i)
        t = dt.datetime(d.year, d.month, d.day, tzinfo=ZONE)
        if style == "offset":
            rows.append(t.isoformat())
        elif style == "utc":
            rows.append(t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        else:
            rows.append(t.strftime("%Y-%m-%d"))
    pl.DataFrame({"time": rows, "sales": _values(days)}).write_csv(path)
    return path


def _hour_angle(known: np.ndarray) -> np.ndarray:
    """Hours of the day from the 'hour' sin/cos pair (the first two known columns)."""
    return np.round(np.arctan2(known[:, 0], known[:, 1]) / (2 * np.pi) * 24) % 24


def test_naive_timestamps_with_tz_are_local_times(tmp_path: Path) -> None:
    """00:00 written without a zone, --tz Australia/Melbourne: midnight, not 11:00 (UTC read in Melbourne)."""
    naive = load_series(hourly_csv(tmp_path / "naive.csv", utc=False))
    naive = naive.with_known(choose_known(naive.freq, naive.times, "hour", tz=MELBOURNE))
    assert not naive.utc and naive.known is not None
    assert _hour_angle(naive.known[0])[:3].tolist() == [0, 1, 2]
    # the same instants written in UTC (13:00Z) are converted to Melbourne's clock: the same features
    utc = load_series(hourly_csv(tmp_path / "utc.csv", utc=True))
    utc = utc.with_known(choose_known(utc.freq, utc.times, "hour", tz=MELBOURNE))
    assert utc.utc and utc.known is not None
    np.testing.assert_allclose(utc.known[0], naive.known[0], atol=1e-6)
    # the model keeps the rule: its forecast reads naive times as local times too
    exp = train_experiment(naive, model_config(naive, cell="gru", hidden_size=8, num_layers=1), TrainConfig(epochs=1))
    model = Forecaster.load(exp.export(tmp_path / "m.onnx").path)
    assert model.meta.tz == MELBOURNE and not model.known_spec.utc
    assert "local time Australia/Melbourne (timestamps as written)" in model.known_spec.describe()
    window = naive.times[0][-model.input_len :][None, :]
    known = model.known_inputs(window)
    assert known is not None
    last_hour = int(str(window[0, -1])[11:13])
    assert _hour_angle(known[0])[model.input_len] == (last_hour + 1) % 24  # the first step of the horizon


@pytest.mark.parametrize("style", ["offset", "utc"])
def test_daily_local_midnight_across_daylight_saving_is_daily(tmp_path: Path, style: str) -> None:
    """Melbourne's clocks go back on 2024-04-07: local midnight moves from 13:00Z to 14:00Z."""
    data = load_series(daily_csv(tmp_path / "d.csv", dt.date(2024, 3, 20), 40, style))
    assert data.freq.code == "1d" and data.freq.label == "daily" and data.utc
    assert len(data.values[0]) == 40 and data.report.filled_rows == 0
    stamps = data.times[0].astype("datetime64[s]").astype(str)
    assert stamps[0] == "2024-03-19T13:00:00" and stamps[-1] == "2024-04-27T14:00:00"


def test_horizon_continues_local_days_across_a_clock_change(tmp_path: Path) -> None:
    """Trained with --tz, the forecast of daily UTC data steps over the October change at local midnight."""
    csv = daily_csv(tmp_path / "d.csv", dt.date(2024, 6, 1), 122, "utc")  # last row 2024-09-30 local
    data = load_series(csv)
    data = data.with_known(choose_known(data.freq, data.times, "dow", tz=MELBOURNE))
    cfg = model_config(data, cell="gru", hidden_size=8, num_layers=1, horizon=14, input_len=14)
    model = Forecaster.load(train_experiment(data, cfg, TrainConfig(epochs=1)).export(tmp_path / "m.onnx").path)
    times = forecast_file(model, csv).table["time"].to_list()
    assert times[:6] == [f"2024-{d}T14:00:00Z" for d in ("09-30", "10-01", "10-02", "10-03", "10-04", "10-05")]
    assert times[6:8] == ["2024-10-06T13:00:00Z", "2024-10-07T13:00:00Z"]  # summer time from 6 October
    local = [dt.datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(ZONE) for t in times]
    assert {t.hour for t in local} == {0} and [t.day for t in local[:3]] == [1, 2, 3]


def test_only_a_daylight_saving_shift_is_tolerated(tmp_path: Path) -> None:
    csv = daily_csv(tmp_path / "d.csv", dt.date(2024, 3, 20), 40, "utc")
    frame = pl.read_csv(csv)
    wobble = frame.with_columns(pl.col("time").str.replace("T13:", "T18:", literal=True).alias("time"))
    wobble.write_csv(tmp_path / "wobble.csv")
    with pytest.raises(DataError, match=r"wobble.csv: column 'time' is not on a regular daily grid"):
        load_series(tmp_path / "wobble.csv")
    naive = pl.DataFrame({"time": [f"2024-03-{d:02d}T00:00:00" for d in range(1, 21)], "sales": _values(20)})
    naive.with_columns(pl.col("time").str.replace("03-10T00", "03-10T01", literal=True)).write_csv(
        tmp_path / "naive.csv"
    )
    with pytest.raises(DataError, match=r"naive.csv: column 'time' is not on a regular daily grid"):
        load_series(tmp_path / "naive.csv")  # naive local times have no daylight-saving shift to excuse
    mixed = frame.with_columns(pl.col("time").str.replace("T13:00:00Z", "T00:00:00+11:00", literal=True))
    mixed.vstack(pl.DataFrame({"time": ["2024-04-29T00:00:00"], "sales": [1.0]})).write_csv(tmp_path / "mixed.csv")
    with pytest.raises(DataError, match=r"mixes UTC \('Z' or an offset such as \+11:00\) and local timestamps"):
        load_series(tmp_path / "mixed.csv")


def test_missing_local_days_keep_the_rows_own_times(tmp_path: Path) -> None:
    """A missing day after the April change: the rows keep their own instants and the filled day follows the
    row before it (14:00Z), not 24-hour steps from the first row (13:00Z)."""
    csv = daily_csv(tmp_path / "d.csv", dt.date(2024, 3, 20), 40, "utc")
    frame = pl.read_csv(csv)
    frame.filter(pl.col("time") != "2024-04-09T14:00:00Z").write_csv(tmp_path / "gap.csv")
    data = load_series(tmp_path / "gap.csv")
    assert data.report.filled_rows == 1 and len(data.values[0]) == 40
    stamps = data.times[0].astype("datetime64[s]").astype(str)
    assert stamps.tolist() == pl.read_csv(csv)["time"].str.replace("Z", "").to_list()
