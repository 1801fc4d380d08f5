"""Shared fixtures: paths to the small test files and a trained demo model."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REAL = DATA / "real"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def demo_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small LSTM trained on the demo series and exported once per test session."""
    from tsrnn.config import TrainConfig
    from tsrnn.data import load_series
    from tsrnn.pipeline import model_config, train_experiment

    data = load_series("demo")
    cfg = model_config(data, cell="lstm", hidden_size=8, num_layers=1)
    exp = train_experiment(data, cfg, TrainConfig(epochs=2, seed=0))
    return exp.export(tmp_path_factory.mktemp("models") / "demo.onnx").path
