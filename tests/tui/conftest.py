"""Shared helpers for driving the real TUI headless."""

from __future__ import annotations

import asyncio
import inspect
import shutil
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tsrnn.data.loader import demo_path

DATA = Path(__file__).parent / "data"
GROUPS = ("load", "train", "export", "forecast", "compare")
SIZE = (120, 40)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests with asyncio.run (no async plugin is needed for Textual's run_test)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**args))
    return True


async def settle(pilot: Pilot, delay: float = 0.1) -> None:
    """Wait for the app's own workers (the file tree's loader never ends, so not all workers)."""
    app = pilot.app
    ours = [w for w in app.workers if w.group in GROUPS]
    if ours:  # an empty list would mean "every worker" to wait_for_complete
        await app.workers.wait_for_complete(ours)
    await pilot.pause(delay)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary current directory holding airline.csv, so exports/ and outputs land there."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(demo_path(), work / "airline.csv")
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """Outside workdir, so the file tree does not show it."""
    return tmp_path / "config"


@pytest.fixture(scope="session")
def exported_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny airline model exported once with the engine (not through the UI)."""
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config, train_experiment

    data = load_series(demo_path())
    exp = train_experiment(
        data, model_config(data, hidden_size=8, num_layers=1, cell="gru"), TrainConfig(epochs=1, threads=1)
    )
    return exp.export(tmp_path_factory.mktemp("model") / "airline_gru1x8.onnx").path


def notes(app) -> list[str]:
    """Every notification shown so far (title and message)."""
    return [f"{n.title}: {n.message}" for n in app._notifications]


def text_of(app, selector: str) -> str:
    """The plain text a Static shows."""
    return str(app.query_one(selector).render())


async def set_small_model(pilot: Pilot, epochs: int = 2) -> None:
    """Hidden 8, one layer, a few epochs: fast enough for tests."""
    app = pilot.app
    values = {"hidden_size": "8", "num_layers": "1", "epochs": str(epochs), "patience": "50"}
    for field, value in values.items():
        app.query_one(f"#{field}").value = value
    await pilot.pause()


async def set_compare(
    pilot: Pilot, variants: tuple[str, ...] = ("gru", "lstm"), epochs: int = 1, folds: str = "3"
) -> None:
    """A tiny comparison: hidden 4, a few epochs, two variants."""
    app = pilot.app
    values = {"hidden_size": "4", "num_layers": "1", "epochs": str(epochs), "patience": "50"}
    for field, value in values.items():
        app.query_one(f"#{field}").value = value
    chosen = app.query_one("#cmp-variants")
    chosen.deselect_all()
    for v in variants:
        chosen.select(v)
    app.query_one("#cmp-folds").value = folds
    await pilot.pause()


def _export(path: Path, **model: object) -> Path:
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config, train_experiment

    data = load_series(demo_path())
    exp = train_experiment(
        data, model_config(data, hidden_size=4, num_layers=1, cell="gru", **model), TrainConfig(epochs=1, threads=1)
    )
    return exp.export(path).path


@pytest.fixture(scope="session")
def quantile_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An airline model forecasting the 0.1, 0.5 and 0.9 quantiles."""
    return _export(tmp_path_factory.mktemp("qmodel") / "airline_gru1x4q3.onnx", quantiles=(0.1, 0.5, 0.9))


@pytest.fixture(scope="session")
def direction_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An airline model giving the probability that the next value rises."""
    return _export(tmp_path_factory.mktemp("dmodel") / "airline_gru1x4dir.onnx", task="direction", horizon=1)
