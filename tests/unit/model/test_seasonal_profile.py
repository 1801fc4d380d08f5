"""Seasons longer than the window: a seasonal profile mixed by learned weights from the values one season lag
before every step of the window and the horizon, the network reading the window less its profile and correcting
the horizon's, in one ONNX file that matches PyTorch; the forecast path reads the longer history."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tsrnn.core.config import DataConfig, ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment, validate
from tsrnn.runtime.inference import Forecaster

VARIANTS = list(itertools.product(["rnn", "gru", "lstm"], [False, True], [1, 2]))


def hourly_csv(path: Path, weeks: int = 8, day: float = 1.0, week: float = 3.0, noise: float = 0.2, seed: int = 0):
    """Hourly values: a daily wave, a weekly pattern (each weekday its own level, the weekend low) and noise."""
    n = 24 * 7 * weeks
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    weekday = (t // 24) % 7
    levels = np.array([0.0, 1.0, -1.0, 2.0, 0.5, -2.5, -3.0])
    values = 50 + day * np.sin(2 * np.pi * t / 24) + week * levels[weekday] + noise * rng.normal(size=n)
    times = np.datetime64("2024-01-01T00:00") + t.astype("timedelta64[h]")
    path.write_text("time,load\n" + "".join(f"{s}:00,{v:.4f}\n" for s, v in zip(times, values, strict=True)))
    return path


@pytest.fixture(scope="module")
def hourly(tmp_path_factory: pytest.TempPathFactory):
    return load_series(hourly_csv(tmp_path_factory.mktemp("h") / "load.csv"), DataConfig())


@pytest.mark.parametrize(("cell", "bi", "layers"), VARIANTS, ids=[f"{c}-{'bi' * b}{n}" for c, b, n in VARIANTS])
def test_two_seasons_export_with_parity(hourly, tmp_path: Path, cell: str, bi: bool, layers: int) -> None:
    cfg = model_config(hourly, input_len=12, horizon=30, cell=cell, bidirectional=bi, num_layers=layers, hidden_size=4)
    cfg = ModelConfig(**{**cfg.to_dict(), "seasons": (24, 168)})
    assert cfg.season_lags == (24, 48, 72, 96, 120, 144, 168) and cfg.history_len == 12 + 168
    exp = train_experiment(hourly, cfg, TrainConfig(epochs=1, seed=0, windows_per_epoch=64))
    res = exp.export(tmp_path / "m.onnx")
    assert res.max_rel_error < 1e-4
    f = Forecaster.load(res.path)
    assert f.meta.seasons == (24, 168) and f.meta.history_len == 180 and f.meta.input_len == 12
    assert f.meta.season_lags == cfg.season_lags
    assert f.session.get_inputs()[0].shape[1] == 180
    from tsrnn.model.train import predict

    x = np.stack([hourly.values[0][i : i + 180] for i in range(0, 600, 7)]).astype(np.float32)
    np.testing.assert_allclose(f.predict(x), predict(exp.result.model, x), rtol=1e-4, atol=1e-3)


def test_zeroed_network_forecasts_the_profile_of_the_horizon(hourly, tmp_path: Path) -> None:
    """With the network's output zeroed, the file forecasts each horizon step as the weighted mean of the value
    one day and one week before it (past a day, the day before the last is read: the last cycle repeats),
    whatever the window's scaling; the other lags' weights at zero."""
    cfg = model_config(hourly, input_len=12, horizon=30, hidden_size=4, num_layers=1, cell="gru", seasons=(24, 168))
    exp = train_experiment(hourly, cfg, TrainConfig(epochs=1, seed=0, windows_per_epoch=32))
    model = exp.result.model
    weights = torch.zeros(7, 12 + 30)
    weights[0], weights[6] = 0.25, 0.75  # lags 24 and 168
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.lag_weights.copy_(weights)
    np.testing.assert_allclose(model.season_weights()[[0, 6]], [[0.25] * 30, [0.75] * 30])
    f = Forecaster.load(exp.export(tmp_path / "m.onnx").path)
    history = hourly.values[0][-180:, 0].astype(np.float32)
    got = f.predict(history[None, :, None])[0, :, 0]
    T = 180  # step T + h of the horizon
    day = [history[T + h - 24] if h < 24 else history[T + h - 48] for h in range(30)]
    week = [history[T + h - 168] for h in range(30)]
    np.testing.assert_allclose(got, 0.25 * np.array(day) + 0.75 * np.array(week), rtol=1e-5, atol=1e-3)


def test_the_network_reads_the_window_less_its_profile() -> None:
    """A history that is its own profile (the same day every day) leaves the network a window of zeros: the
    forecast is then the profile whatever the window's level."""
    from tsrnn.model.networks import RecurrentForecaster

    cfg = ModelConfig(cell="gru", input_len=12, horizon=6, hidden_size=4, seasons=(24, 168))
    model = RecurrentForecaster(cfg)
    day = np.sin(np.arange(24) / 24 * 2 * np.pi).astype(np.float32)
    history = np.tile(day, 180 // 24 + 1)[:180]
    seen: dict[str, torch.Tensor] = {}

    def keep_input(_module: torch.nn.Module, args: tuple[torch.Tensor, ...], _out: object) -> None:
        seen["x"] = args[0].detach().clone()

    model.rnn.register_forward_hook(keep_input)
    with torch.no_grad():
        y = model(torch.tensor(history)[None, :, None] + 100.0)
    np.testing.assert_allclose(seen["x"].numpy(), 0.0, atol=1e-5)  # the window less its profile
    with torch.no_grad():  # the network's output on an all-zero window
        _, state = model.rnn(torch.zeros(1, 12, 1))
        head = model.head(state[-1]).numpy()[0]
    window = history[-12:] + 100.0
    expect = 100.0 + np.tile(day, 2)[180 % 24 : 180 % 24 + 6] + head * window.std()
    np.testing.assert_allclose(y[0, :, 0].numpy(), expect, rtol=1e-5, atol=1e-4)


def test_a_weekly_pattern_is_forecast_far_better_with_the_weekly_season(tmp_path: Path) -> None:
    """The only signal is the weekday's level: a 48-step window cannot tell a Tuesday from a Friday two days
    ahead, the weekly season reads it from last week."""
    data = load_series(hourly_csv(tmp_path / "w.csv", weeks=10, day=0.0, week=3.0, noise=0.3), DataConfig())
    mase = {}
    for seasons in [(), (168,)]:
        cfg = model_config(data, input_len=48, horizon=48, hidden_size=8, num_layers=1, cell="gru", seasons=seasons)
        exp = train_experiment(data, cfg, TrainConfig(epochs=4, seed=0, lr=3e-3, windows_per_epoch=256), season=168)
        mase[seasons] = exp.scores["model"]["load"]["mase"]
    assert mase[(168,)] < 0.5 * mase[()], mase


def test_settings_are_checked() -> None:
    assert ModelConfig(input_len=24, horizon=12, seasonal_skip=48).seasons == (48,)  # the skip is one season
    assert ModelConfig(input_len=24, horizon=12, seasonal_skip=48).history_len == 48
    assert ModelConfig(input_len=400, seasons=(48, 336)).history_len == 400 + 336
    assert ModelConfig(input_len=24, seasons=(7, 365)).season_lags == (7, 14, 21, 28, 35, 42, 49, 365)
    assert ModelConfig(input_len=24, seasons=(52,)).season_lags == (52,)
    with pytest.raises(ConfigError, match="distinct and ascending"):
        ModelConfig(seasons=(336, 48))
    with pytest.raises(ConfigError, match="at least 1"):
        ModelConfig(seasons=(0,))
    with pytest.raises(ConfigError, match="add it to the seasons"):
        ModelConfig(seasons=(24,), seasonal_skip=12)
    with pytest.raises(ConfigError, match="direction task has no seasonal path"):
        ModelConfig(task="direction", horizon=1, seasons=(7,))


def test_history_shorter_than_the_longest_season_is_a_clear_error(tmp_path: Path) -> None:
    data = load_series(hourly_csv(tmp_path / "short.csv", weeks=1), DataConfig())  # 168 rows
    cfg = model_config(data, input_len=24, horizon=24, seasons=(24, 168))
    with pytest.raises(DataError, match=r"history shorter than the longest season.*reads 192 steps: its window"):
        validate(data, cfg)


def _tsrnn(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tsrnn", *args], capture_output=True, text=True, timeout=300)


def test_cli_seasons_auto_train_inspect_forecast_and_a_short_file(tmp_path: Path) -> None:
    csv = hourly_csv(tmp_path / "load.csv", weeks=8, day=3.0)
    out = tmp_path / "m.onnx"
    common = ["--epochs", "1", "--hidden", "4", "--layers", "1", "--windows-per-epoch", "32"]
    ok = _tsrnn("train", str(csv), *common, "--seasons", "auto", "--out", str(out))
    assert ok.returncode == 0, ok.stderr
    meta = Forecaster.load(out).meta
    assert meta.seasons == (24, 168) and meta.input_len == 48 and meta.history_len == 48 + 168  # auto: the week
    shown = _tsrnn("inspect", str(out))
    assert shown.returncode == 0 and "seasons 24 (a day), 168 (a week)" in shown.stdout, shown.stdout
    fc = _tsrnn("forecast", str(out), str(csv))
    assert fc.returncode == 0, fc.stderr
    torch_free = (  # the forecasting path of a seasonal model loads no torch
        "import sys; from tsrnn.runtime.forecastio import forecast_file; from tsrnn.runtime.inference import "
        f"Forecaster; t = forecast_file(Forecaster.load({str(out)!r}), {str(csv)!r}).table; "
        "assert t.height == 24 and 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)"
    )
    alone = subprocess.run([sys.executable, "-c", torch_free], capture_output=True, text=True, timeout=120)
    assert alone.returncode == 0, alone.stderr
    lines = csv.read_text().splitlines()
    short = tmp_path / "short.csv"
    short.write_text("\n".join([lines[0], *lines[-100:]]) + "\n")
    refused = _tsrnn("forecast", str(out), str(short))
    assert refused.returncode == 2
    assert (
        "the series has 100 rows; the model reads the last 216 steps (its window of 48 and its longest season, "
        "168 (a week), before it)" in refused.stderr
    )
    assert "Traceback" not in refused.stderr
    none = tmp_path / "none.onnx"
    off = _tsrnn("train", str(csv), *common, "--seasons", "none", "--out", str(none))
    assert off.returncode == 0 and Forecaster.load(none).meta.history_len == 48
    chosen = tmp_path / "chosen.onnx"  # left out: two brief trainings decide, and the line says which way
    default = _tsrnn("train", str(csv), *common, "--out", str(chosen))
    assert default.returncode == 0, default.stderr
    assert "trying the seasons 24 (a day), 168 (a week): two brief trainings" in default.stderr
    used = Forecaster.load(chosen).meta.seasons
    verdict = "used" if used else "not used"
    assert f"seasons 24 (a day), 168 (a week): {verdict}, the validation block's loss" in default.stderr
    assert used in ((), (24, 168))
    bad = _tsrnn("train", str(csv), "--seasons", "48,x")
    assert bad.returncode == 2 and "'x' is not a season in steps" in bad.stderr


def test_many_series_calendar_and_quantiles_with_two_seasons(tmp_path: Path) -> None:
    """Long format (two series), calendar inputs and quantiles with the seasonal profile: the export matches
    PyTorch, and the file forecasts both series on the torch-free path."""
    a = hourly_csv(tmp_path / "a.csv", weeks=6).read_text().splitlines()[1:]
    b = hourly_csv(tmp_path / "b.csv", weeks=6, week=1.0, seed=1).read_text().splitlines()[1:]
    long = tmp_path / "long.csv"
    long.write_text("id,time,load\n" + "".join(f"a,{r}\n" for r in a) + "".join(f"b,{r}\n" for r in b))
    out = tmp_path / "q.onnx"
    args = ["--epochs", "1", "--hidden", "4", "--layers", "1", "--windows-per-epoch", "32", "--seasons", "24,168"]
    trained = _tsrnn("train", str(long), *args, "--quantiles", "0.1,0.5,0.9", "--calendar", "dow", "--out", str(out))
    assert trained.returncode == 0, trained.stderr
    assert "ONNX Runtime vs PyTorch" in trained.stdout
    meta = Forecaster.load(out).meta
    assert meta.season_lags == (24, 48, 72, 96, 120, 144, 168) and meta.known and meta.quantiles == (0.1, 0.5, 0.9)
    fc = _tsrnn("forecast", str(out), str(long), "--out", str(tmp_path / "fc.csv"))
    assert fc.returncode == 0, fc.stderr
    table = (tmp_path / "fc.csv").read_text().splitlines()
    assert table[0] == "id,time,load_q10,load_q50,load_q90"
    assert {row.split(",")[0] for row in table[1:]} == {"a", "b"} and len(table) == 1 + 2 * 24  # hourly: a day ahead


def test_profile_lags_on_a_session_calendar_skip_the_closed_hours() -> None:
    """On business hours (Mon-Fri 09:00-16:00, 8 open slots a day, 40 a week) the profile's lags count open
    slots: a Monday's step reads the Friday before (the previous open day, across the weekend) and the Monday a
    week before."""
    from tsrnn.core.config import season_lags
    from tsrnn.model.networks import profile_index
    from tsrnn.timeline.sessions import SessionCalendar
    from tsrnn.timeline.timefreq import US

    day = tuple(range(9, 17))
    cal = SessionCalendar(3600 * US, (day, day, day, day, day, (), ()))
    monday = np.datetime64("2024-01-08T09:00", "us")
    times = cal.next_slots(monday - np.timedelta64(1, "h"), 120).astype("datetime64[us]")  # three weeks of slots
    assert times[0] == monday and times[80] == monday + np.timedelta64(14, "D")
    lags = season_lags((8, 40))
    assert lags == (8, 16, 24, 32, 40)
    history, horizon = times[32:80], times[80:88]  # window 8 and a week before it; the horizon a Monday
    idx = np.array(profile_index(48, 8, 8, lags, (8, 40))).reshape(len(lags), 16)
    read = history[idx[:, 8:]]  # the horizon's steps, for each lag
    np.testing.assert_array_equal(read[0], horizon - np.timedelta64(3, "D"))  # lag 8: Friday, same hours
    np.testing.assert_array_equal(read[1], horizon - np.timedelta64(4, "D"))  # lag 16: Thursday
    np.testing.assert_array_equal(read[4], horizon - np.timedelta64(7, "D"))  # lag 40: last Monday
    np.testing.assert_array_equal(history[idx[0, :8]], history[40:48] - np.timedelta64(1, "D"))  # the window too
