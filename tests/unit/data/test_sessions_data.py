"""Business-hours data: loaded on its open slots only, trained on them, and forecast from the next opening."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsrnn.core.config import DataConfig, TrainConfig
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster

HOLIDAY = np.datetime64("2024-03-29")  # Good Friday: the office is closed all day


def office_csv(path: Path, weeks: int = 8) -> Path:
    """Half-hourly calls, Monday to Friday 09:00-17:00 (last slot 16:30) with the 12:00-13:00 lunch closed;
    one public holiday missing. Ends on a Friday at 16:30."""
    rng = np.random.default_rng(1)
    start = np.datetime64("2024-03-04")  # a Monday
    rows = []
    for day in range(7 * weeks - 2):
        date = start + np.timedelta64(day, "D")
        weekday = (date.astype(np.int64) + 3) % 7
        if weekday >= 5 or date == HOLIDAY:
            continue
        for minute in range(9 * 60, 17 * 60, 30):
            if 12 * 60 <= minute < 13 * 60:
                continue
            t = date.astype("datetime64[m]") + np.timedelta64(minute, "m")
            level = 20 + 10 * np.sin(np.pi * (minute - 540) / 480) + 3 * weekday
            rows.append(f"{t!s}:00,{level + rng.normal(0, 1):.2f}")
    path.write_text("time,calls\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return office_csv(tmp_path_factory.mktemp("sessions") / "office.csv")


def test_sessions_are_detected_and_reported(office: Path) -> None:
    data = load_series(office)
    cal = data.freq.sessions
    assert cal is not None and cal.describe() == "Mon–Fri 09:00–11:30, 13:00–16:30, 14 steps a day"
    assert data.freq.season == 14 and data.freq.default_horizon() == 14
    assert "sessions: Mon–Fri 09:00–11:30, 13:00–16:30, 14 steps a day" in data.report.notes()
    # Only open slots: 39 open days of 14 slots plus Good Friday as a gap of 14 inserted steps.
    assert data.lengths.tolist() == [40 * 14] and data.report.filled_rows == 14
    minutes = data.times[0].astype("datetime64[m]").astype(np.int64) % 1440
    assert not np.any((minutes >= 720) & (minutes < 780)) and minutes.min() == 540 and minutes.max() == 990


def test_sessions_none_keeps_every_step(office: Path) -> None:
    data = load_series(office, DataConfig(sessions="none", max_gap=None))
    assert data.freq.sessions is None and data.lengths[0] > 40 * 48 - 20


def test_forecast_starts_at_the_next_opening(office: Path, tmp_path: Path) -> None:
    data = load_series(office)
    exp = train_experiment(data, model_config(data, cell="gru", hidden_size=8, num_layers=1), TrainConfig(epochs=1))
    f = Forecaster.load(exp.export(tmp_path / "office.onnx").path)
    assert f.freq.sessions == data.freq.sessions
    times = forecast_file(f, office).table["time"].to_list()
    assert times[:3] == ["2024-04-29T09:00:00", "2024-04-29T09:30:00", "2024-04-29T10:00:00"]  # Monday
    assert "2024-04-29T12:00:00" not in times and times[6] == "2024-04-29T13:00:00" and len(times) == 14


def test_business_days_file_is_unchanged() -> None:
    """Daily trading data (msft, last 400 rows) is business days, not sessions: the same with or without."""
    msft = Path(__file__).parents[2] / "data" / "real" / "msft_daily_tail.csv"
    auto = load_series(msft, DataConfig(targets=("close",)))
    plain = load_series(msft, DataConfig(targets=("close",), sessions="none"))
    assert auto.freq.code == "1bd" and auto.freq.sessions is None and not auto.report.sessions
    assert auto.lengths.tolist() == plain.lengths.tolist()
    np.testing.assert_array_equal(auto.values[0], plain.values[0])
