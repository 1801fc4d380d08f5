"""The Compare screen's time budget (elapsed and remaining while it runs) and a baseline that beats every variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.app import make_app
from tui.screens.compare import RowChoice

from .conftest import SIZE, notes, set_compare, settle, text_of

pytestmark = pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")  # no MASE: no seasonal change


async def test_budget_clock_and_a_winning_baseline(workdir: Path, config_dir: Path, pure_season) -> None:
    pure_season.write(workdir / "seasonal.csv")
    app = make_app("seasonal.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await set_compare(pilot, variants=("gru",), epochs=100_000, folds="2")
        app.query_one("#cmp-budget").value = "6s"
        await pilot.pause()
        assert text_of(app, "#cmp-budget-msg") == "stops on time after 6 s"
        await pilot.press("ctrl+r")
        seen = ""
        for _ in range(400):  # the clock while it trains
            await pilot.pause(0.05)
            seen = text_of(app, "#cmp-overall-text")
            if "left" in seen:
                break
        assert "elapsed" in seen and "left" in seen, seen
        await settle(pilot)
        assert text_of(app, "#cmp-overall-text").endswith("of a 6 s budget")
        status = text_of(app, "#cmp-status")
        assert status.startswith("Done in"), status
        assert "a baseline wins: seasonal_naive beats every network" in status
        table = app.query_one("#cmp-table")
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert names[0] == "seasonal_naive !" and "gru *" in names
        assert "! a baseline that beats every variant" in text_of(app, "#cmp-note")

        # the winning baseline has a model file: it exports like a variant
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RowChoice)
        await pilot.press("e")
        await pilot.pause()
        exported = workdir / "exports" / "seasonal_seasonal_naive.onnx"
        assert exported.is_file()
        from tsrnn.runtime.inference import Forecaster

        assert Forecaster.load(exported).meta.model == "seasonal_naive"
        # and another baseline still has none
        table.move_cursor(row=table.get_row_index("naive"))
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, RowChoice) and any("is a baseline" in n for n in notes(app))


async def test_a_bad_budget_is_flagged(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await set_compare(pilot)
        app.query_one("#cmp-budget").value = "soon"
        await pilot.pause()
        assert "not a duration" in text_of(app, "#cmp-budget-msg")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not app.query_one("#compare-view").running
        assert any("Cannot compare yet" in n and "Time budget" in n for n in notes(app))
        app.query_one("#cmp-budget").value = "none"
        await pilot.pause()
        assert text_of(app, "#cmp-budget-msg") == "none: no time limit"


async def test_train_screen_stops_at_its_time_budget(workdir: Path, config_dir: Path) -> None:
    from .conftest import set_small_model

    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await set_small_model(pilot, epochs=100_000)
        app.query_one("#patience").value = "100000"
        app.query_one("#time_limit").value = "soon"
        await pilot.pause()
        assert text_of(app, "#model-status") == "Fix 1 field before training: time budget"
        app.query_one("#time_limit").value = "2s"
        await pilot.pause()
        assert "Ready:" in text_of(app, "#model-status")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert text_of(app, "#train-status").startswith("Stopped at the time budget after"), text_of(
            app, "#train-status"
        )
