"""The linear highway: a map from each target's scaled window to its horizon, beside the recurrent stack."""

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


@pytest.fixture(scope="module")
def demo():
    return load_series("demo")


@pytest.mark.parametrize("quantiles", [(), (0.1, 0.5, 0.9)], ids=["point", "quantiles"])
def test_highway_model_exports_with_parity_and_says_so(demo, tmp_path: Path, quantiles) -> None:
    cfg = model_config(demo, cell="gru", hidden_size=8, num_layers=1, highway=True, quantiles=quantiles)
    exp = train_experiment(demo, cfg, TrainConfig(epochs=2, seed=0))
    assert exp.result.model.highway.weight.abs().sum() > 0  # trained, not left at its zero start
    res = exp.export(tmp_path / "m.onnx")
    assert res.max_rel_error < 1e-4
    f = Forecaster.load(res.path)
    assert f.meta.highway and "linear highway" in f.meta.describe()
    if quantiles:
        x = np.stack([demo.values[0][i : i + cfg.input_len] for i in range(20)])
        out = f.session.run(None, {"history": x})
        q = out[1]
        assert (np.diff(q, axis=-1) > 0).all()  # the highway shifts every quantile alike: they never cross


def test_highway_can_copy_the_last_season_exactly(tmp_path: Path) -> None:
    """With the network's output zeroed and the highway set to copy the last 12 steps, the exported model is the
    seasonal naive forecast: scaling in and out of the graph round-trips the raw values."""
    season, n = 12, 240
    t = np.arange(n)
    values = 100 + 10 * np.sin(2 * np.pi * t / season) + 0.5 * t
    csv = tmp_path / "s.csv"
    days = np.datetime64("2020-01-01") + t.astype("timedelta64[D]")
    csv.write_text("date,y\n" + "".join(f"{d},{v:.4f}\n" for d, v in zip(days, values, strict=True)))
    data = load_series(csv, DataConfig())
    cfg = model_config(data, input_len=24, horizon=season, hidden_size=4, num_layers=1, highway=True)
    exp = train_experiment(data, cfg, TrainConfig(epochs=1, seed=0))
    model = exp.result.model
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.highway.weight.zero_()
        model.highway.bias.zero_()
        for h in range(season):  # forecast step h copies window step L - season + h
            model.highway.weight[h, cfg.input_len - season + h] = 1.0
    res = exp.export(tmp_path / "m.onnx")
    f = Forecaster.load(res.path)
    window = data.values[0][-cfg.input_len :].astype(np.float32)
    got = f.session.run(None, {"history": window[None]})[0][0, :, 0]
    np.testing.assert_allclose(got, window[-season:, 0], rtol=1e-5, atol=1e-3)


def test_direction_task_refuses_the_highway() -> None:
    with pytest.raises(ConfigError, match="highway"):
        ModelConfig(task="direction", horizon=1, highway=True)
