"""Calendar-aware models: known inputs for the window and the horizon, computed again by the forecaster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsrnn.core.config import TrainConfig
from tsrnn.core.errors import ConfigError
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.modelfile.artifact import known_spec
from tsrnn.runtime.forecastio import forecast_file, window_inputs
from tsrnn.runtime.inference import Forecaster
from tsrnn.timeline.known import choose_known


def weekend_csv(path: Path, days: int = 423, seed: int = 0) -> Path:
    """Daily values driven only by the day of the week: 10 on Saturdays and Sundays, 0 otherwise, plus noise. 423
    days from a Monday end on a Wednesday: the test block's 3-day window holds only weekdays."""
    rng = np.random.default_rng(seed)
    times = np.arange(np.datetime64("2021-01-04"), np.datetime64("2021-01-04") + days)  # a Monday
    weekend = ((times.astype(np.int64) + 3) % 7) >= 5
    values = 10.0 * weekend + rng.normal(0, 0.3, days)
    path.write_text("time,visits\n" + "".join(f"{t},{v:.3f}\n" for t, v in zip(times, values, strict=True)))
    return path


@pytest.fixture(scope="module")
def weekend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return weekend_csv(tmp_path_factory.mktemp("known") / "weekend.csv")


def _train(csv: Path, calendar: str, out: Path):
    data = load_series(csv)
    data = data.with_known(choose_known(data.freq, data.times, calendar))
    # A 3-day window of weekdays cannot tell how far the weekend is: only the calendar can.
    cfg = model_config(data, cell="gru", hidden_size=16, num_layers=1, input_len=3, horizon=7, scaling="global")
    exp = train_experiment(data, cfg, TrainConfig(epochs=40, patience=40, seed=0, lr=3e-3))
    return exp, exp.export(out)


@pytest.fixture(scope="module")
def dow_model(weekend: Path, tmp_path_factory: pytest.TempPathFactory):
    return _train(weekend, "dow", tmp_path_factory.mktemp("dow") / "cal.onnx")


def test_day_of_week_series_needs_the_calendar(weekend: Path, dow_model, tmp_path: Path) -> None:
    with_cal, export = dow_model
    without, _ = _train(weekend, "none", tmp_path / "plain.onnx")
    assert with_cal.model_cfg.n_known == 2 and without.model_cfg.n_known == 0
    mae_with = with_cal.scores["model"]["visits"]["mae"]
    mae_without = without.scores["model"]["visits"]["mae"]
    assert mae_with < 1.0 < 2.0 < mae_without, (mae_with, mae_without)
    assert export.max_rel_error < 1e-4

    # The forecaster computes the same features for the horizon from the timestamps alone.
    f = Forecaster.load(export.path)
    assert f.meta.calendar == ("dow",) and f.meta.known == ("dow_sin", "dow_cos")
    table = forecast_file(f, weekend).table
    days = np.array(table["time"].to_list(), dtype="datetime64[D]")
    weekend_day = ((days.astype(np.int64) + 3) % 7) >= 5
    forecast = table["visits"].to_numpy()
    assert forecast[weekend_day].min() > 7 and forecast[~weekend_day].max() < 3, list(zip(days, forecast, strict=True))


def test_predict_needs_the_known_inputs(weekend: Path, tmp_path: Path) -> None:
    _, export = _train(weekend, "dow,doy", tmp_path / "m.onnx")
    f = Forecaster.load(export.path)
    data = load_series(weekend)
    history, known = window_inputs(f, data)
    assert history.shape == (1, 3, 1) and known is not None and known.shape == (1, 10, 4)
    with pytest.raises(ConfigError, match="also reads known inputs"):
        f.predict(history)
    with pytest.raises(ConfigError, match=r"known inputs must have shape \(1, 10, 4\)"):
        f.predict(history, known[:, :7])
    np.testing.assert_allclose(
        f.predict(history, known)[0, :, 0], forecast_file(f, weekend).table["visits"].to_numpy(), rtol=1e-6
    )


def test_holidays_are_stored_in_the_model(tmp_path: Path) -> None:
    csv = weekend_csv(tmp_path / "w.csv", days=200)
    data = load_series(csv)
    spec = choose_known(data.freq, data.times, "none", holidays="US")
    assert spec.columns == ["holiday", "day_before", "day_after"]
    assert spec.holidays is not None and spec.holidays.first_year == 2021 and spec.holidays.last_year == 2031
    data = data.with_known(spec)
    exp = train_experiment(
        data,
        model_config(data, cell="lstm", hidden_size=8, num_layers=1, input_len=7, horizon=7),
        TrainConfig(epochs=1),
    )
    f = Forecaster.load(exp.export(tmp_path / "h.onnx").path)
    assert known_spec(f.meta) == spec
    july = np.array(["2021-07-03", "2021-07-04", "2021-07-05", "2021-07-06"], dtype="datetime64[us]")
    flags = f.known_spec.compute(july)
    # 4 July 2021 was a Sunday: the holidays package lists it and its observed day, Monday 5 July.
    assert flags.tolist() == [[0, 1, 0], [1, 1, 0], [1, 0, 1], [0, 0, 1]]


def test_a_bad_time_zone_or_country_is_a_clear_error() -> None:
    data = load_series("demo")
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Base'"):
        choose_known(data.freq, data.times, "auto", tz="Mars/Base")
    with pytest.raises(ConfigError, match="unknown country code 'XX'"):
        choose_known(data.freq, data.times, "auto", holidays="XX")


def test_int8_copy_keeps_the_known_input(weekend: Path, dow_model, tmp_path: Path) -> None:
    from tsrnn.export.quantize import measure_drift, quantize_model

    _, export = dow_model
    int8 = quantize_model(export.path, tmp_path / "cal.int8.onnx")
    q = Forecaster.load(int8)
    assert q.meta.known == ("dow_sin", "dow_cos")
    drift = measure_drift(export.path, int8, weekend)
    assert drift.float_metrics and drift.int8_metrics and drift.max_rel_diff < 0.05


def test_auto_leaves_out_what_the_window_already_shows() -> None:
    from tsrnn.timeline.calendar import auto_calendar
    from tsrnn.timeline.timefreq import Frequency

    half_hourly = Frequency("30m", "every 30 minutes", 48, step_us=1_800_000_000)
    assert auto_calendar(half_hourly) == ("hour", "dow")
    assert auto_calendar(half_hourly, 96) == ("dow",)  # two days show the day, not the week
    assert auto_calendar(half_hourly, 400) == ()  # more than a week shows both
    monthly = Frequency("1mo", "monthly", 12, months=1)
    assert auto_calendar(monthly, 6) == ("month",) and auto_calendar(monthly, 24) == ()
    daily = Frequency("1d", "daily", 7, step_us=86_400_000_000)
    assert auto_calendar(daily, 28) == ("doy",)
