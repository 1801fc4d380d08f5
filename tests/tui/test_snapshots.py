"""How each screen looks in a settled state (no training running, no toasts)."""

from __future__ import annotations

from pathlib import Path

from tui.app import make_app

from .conftest import SIZE, settle


def _app(config_dir: Path):
    return make_app("airline.csv", config_dir=config_dir)


def _goto(key: str, setup=None):
    async def run_before(pilot) -> None:
        await settle(pilot)
        if setup:
            await setup(pilot)
        await pilot.press(key)
        await pilot.pause(0.4)

    return run_before


def test_data_screen(snap_compare, workdir: Path, config_dir: Path) -> None:
    assert snap_compare(_app(config_dir), terminal_size=SIZE, run_before=_goto("f1"))


def test_model_screen(snap_compare, workdir: Path, config_dir: Path) -> None:
    assert snap_compare(_app(config_dir), terminal_size=SIZE, run_before=_goto("f2"))


def test_model_screen_with_errors(snap_compare, workdir: Path, config_dir: Path) -> None:
    async def bad(pilot) -> None:
        pilot.app.query_one("#input_len").value = "200"
        pilot.app.query_one("#lr").value = "-1"
        pilot.app.query_one("#cell").value = "gru"
        await pilot.pause()

    assert snap_compare(_app(config_dir), terminal_size=SIZE, run_before=_goto("f2", bad))


def test_train_screen_idle(snap_compare, workdir: Path, config_dir: Path) -> None:
    assert snap_compare(_app(config_dir), terminal_size=SIZE, run_before=_goto("f3"))


def test_forecast_screen_idle(snap_compare, workdir: Path, config_dir: Path) -> None:
    assert snap_compare(_app(config_dir), terminal_size=SIZE, run_before=_goto("f4"))


def test_help_screen(snap_compare, workdir: Path, config_dir: Path) -> None:
    assert snap_compare(_app(config_dir), terminal_size=SIZE, run_before=_goto("f5"))


def test_compare_screen(snap_compare, workdir: Path, config_dir: Path) -> None:
    assert snap_compare(_app(config_dir), terminal_size=SIZE, run_before=_goto("f6"))
