"""The seasonal skip: the window's last season, repeated over the horizon, added to the network's output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tsrnn.core.config import DataConfig, ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.runtime.inference import Forecaster


def seasonal_csv(tmp_path: Path, season: int = 7, n: int = 280, trend: float = 0.3) -> Path:
    t = np.arange(n)
    values = 100 + 10 * np.sin(2 * np.pi * t / season) + trend * t
    days = np.datetime64("2020-01-01") + t.astype("timedelta64[D]")
    csv = tmp_path / "s.csv"
    csv.write_text("date,y\n" + "".join(f"{d},{v:.4f}\n" for d, v in zip(days, values, strict=True)))
    return csv


@pytest.mark.parametrize("horizon", [5, 10], ids=["shorter-than-season", "longer-than-season"])
def test_zeroed_network_forecasts_exactly_the_repeated_season(tmp_path: Path, horizon: int) -> None:
    """With the network's output zeroed, the exported model is seasonal naive: step h repeats window step
    L - m + (h mod m), through the scaling into and out of the graph."""
    season = 7
    data = load_series(seasonal_csv(tmp_path, season), DataConfig())
    cfg = model_config(data, input_len=21, horizon=horizon, hidden_size=4, num_layers=1, seasonal_skip=season)
    exp = train_experiment(data, cfg, TrainConfig(epochs=1, seed=0))
    with torch.no_grad():
        exp.result.model.head.weight.zero_()
        exp.result.model.head.bias.zero_()
    res = exp.export(tmp_path / "m.onnx")
    f = Forecaster.load(res.path)
    window = data.values[0][-cfg.input_len :].astype(np.float32)
    got = f.session.run(None, {"history": window[None]})[0][0, :, 0]
    expected = np.array([window[cfg.input_len - season + h % season, 0] for h in range(horizon)])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    assert f.meta.seasonal_skip == season and "seasonal skip (season 7)" in f.meta.describe()


@pytest.mark.parametrize("quantiles", [(), (0.1, 0.5, 0.9)], ids=["point", "quantiles"])
def test_seasonal_skip_exports_with_parity_and_learns_the_residual(tmp_path: Path, quantiles) -> None:
    """On a trending seasonal series the skip model trains, exports within parity and beats seasonal naive
    (the trend is what the network adds)."""
    season = 7
    data = load_series(seasonal_csv(tmp_path, season, trend=0.8), DataConfig())
    cfg = model_config(
        data,
        input_len=14,
        horizon=7,
        hidden_size=8,
        num_layers=1,
        cell="gru",
        seasonal_skip=season,
        quantiles=quantiles,
    )
    exp = train_experiment(data, cfg, TrainConfig(epochs=30, seed=0, lr=3e-3), season=season)
    res = exp.export(tmp_path / "m.onnx")
    assert res.max_rel_error < 1e-4
    if not quantiles:
        mase = exp.scores["model"]["y"]["mase"]
        assert mase < 0.5 * exp.scores["seasonal_naive"]["y"]["mase"]  # the network learned the trend step
    else:
        f = Forecaster.load(res.path)
        window = data.values[0][-cfg.input_len :].astype(np.float32)
        q = f.session.run(None, {"history": window[None]})[1]
        assert (np.diff(q, axis=-1) > 0).all()


def test_seasonal_skip_settings_are_checked() -> None:
    longer = ModelConfig(input_len=24, horizon=12, seasonal_skip=48)  # a season longer than the window
    assert longer.seasons == (48,) and longer.history_len == 48 and longer.input_len == 24
    with pytest.raises(ConfigError, match="direction task has no seasonal path"):
        ModelConfig(task="direction", horizon=1, input_len=24, seasonal_skip=12)
    with pytest.raises(ConfigError, match="at least 1 step"):
        ModelConfig(input_len=24, seasonal_skip=-1)


def test_cli_train_with_seasonal_skip_uses_the_data_season(tmp_path: Path) -> None:
    """`tsrnn train --seasonal-skip` takes the data's season (7 for daily data); a season longer than the window
    reads a longer history; one longer than the data allows is a clear error, exit 2, no file written."""
    import subprocess
    import sys

    csv = seasonal_csv(tmp_path)
    out = tmp_path / "m.onnx"
    cmd = [sys.executable, "-m", "tsrnn", "train", str(csv), "--epochs", "1", "--hidden", "4", "--layers", "1"]
    ok = subprocess.run([*cmd, "--seasonal-skip", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "seasonal skip (season 7)" in ok.stdout
    assert Forecaster.load(out).meta.seasonal_skip == 7
    longer = tmp_path / "longer.onnx"
    ok = subprocess.run(
        [*cmd, "--seasonal-skip", "100", "--input-len", "14", "--out", str(longer)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    meta = Forecaster.load(longer).meta
    assert (meta.seasonal_skip, meta.seasons, meta.input_len, meta.history_len) == (100, (100,), 14, 100)
    bad = tmp_path / "bad.onnx"
    refused = subprocess.run(
        [*cmd, "--seasonal-skip", "250", "--input-len", "14", "--out", str(bad)], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "history shorter than the longest season" in refused.stderr
    assert not bad.exists()
