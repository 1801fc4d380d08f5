"""Shared fixtures: paths to the small test files and a trained demo model; the `integration` mark."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

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


TRAINS = re.compile(
    r"train_experiment|\bfit\(|run_compare|run_tune|export_onnx|quantize_model|build_ext|\bselfcheck\("
    r"|[\"'](train|compare|tune)[\"']|set_small_model|set_compare|#tune-start|#cmp-start|press\(\"ctrl\+t\"\)"
)
"""What a test (or a fixture or helper of its module it uses) does when it trains a model or compiles code: the
engine's training, comparison, search and export calls, the `train`/`compare`/`tune` commands, the terminal UI's
Train, Compare and Tune actions, the extension's build and its check."""


def _source(fn: Callable[..., object]) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _trains(text: str, helpers: set[str]) -> bool:
    return bool(TRAINS.search(text)) or any(re.search(rf"\b{name}\(", text) for name in helpers)


def _training_helpers(module: ModuleType) -> set[str]:
    """The module's own functions that train (directly, or through another of them)."""
    own = {
        name: _source(fn)
        for name, fn in vars(module).items()
        if inspect.isfunction(fn) and fn.__module__ == module.__name__ and not name.startswith("test_")
    }
    found: set[str] = set()
    while True:
        more = {name for name, text in own.items() if name not in found and _trains(text, found)}
        if not more:
            return found
        found |= more


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `integration` every test that trains a model or compiles code, itself or through a fixture or helper:
    `pytest -m "not integration"` runs the rest in a minute or two."""
    helpers: dict[str, set[str]] = {}
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        module = item.module
        if module.__name__ not in helpers:
            helpers[module.__name__] = _training_helpers(module)
        texts = [_source(item.function)]
        for defs in item._fixtureinfo.name2fixturedefs.values():
            texts += [_source(d.func) for d in defs]
        if any(_trains(text, helpers[module.__name__]) for text in texts):
            item.add_marker(pytest.mark.integration)
