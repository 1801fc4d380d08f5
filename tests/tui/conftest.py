"""Shared helpers for driving the real TUI headless."""

from __future__ import annotations

import asyncio
import inspect
import shutil
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tsrnn.data import demo_path

DATA = Path(__file__).parent / "data"
GROUPS = ("load", "train", "export", "forecast")
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
    shutil.copy(demo_path(), tmp_path / "airline.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


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
