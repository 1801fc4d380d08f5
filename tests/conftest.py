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
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config, train_experiment

    data = load_series("demo")
    cfg = model_config(data, cell="lstm", hidden_size=8, num_layers=1)
    exp = train_experiment(data, cfg, TrainConfig(epochs=2, seed=0))
    return exp.export(tmp_path_factory.mktemp("models") / "demo.onnx").path


class PureSeason:
    """One day of an hourly pattern (every value exact in float32), repeated with no noise: the seasonal naive
    forecast is exact, so it beats any network."""

    pattern = (10, 12, 15, 20, 26, 30, 31, 29, 25, 20, 16, 13, 11, 9, 8, 8.5, 9, 10.5, 13, 17, 21, 18, 14, 11.5)

    def write(self, path: Path, days: int = 20) -> Path:
        import numpy as np

        times = np.datetime64("2024-01-01T00:00") + np.arange(24 * days) * np.timedelta64(1, "h")
        values = np.tile(self.pattern, days)
        path.write_text("time,load\n" + "".join(f"{t},{v:g}\n" for t, v in zip(times, values, strict=True)))
        return path


@pytest.fixture(scope="session")
def pure_season() -> PureSeason:
    return PureSeason()
