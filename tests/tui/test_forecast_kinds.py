"""The Forecast screen with a quantile model (band) and a direction model (probability), and the quantiles field."""

from __future__ import annotations

from pathlib import Path

from tui.app import make_app

from .conftest import SIZE, settle, text_of


async def test_quantile_model_shows_the_band(workdir: Path, config_dir: Path, quantile_model: Path) -> None:
    app = make_app("airline.csv", model_path=str(quantile_model), config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        status = text_of(app, "#fc-status")
        assert "Ran on CPUExecutionProvider" in status and "quantiles 0.1, 0.5, 0.9" in status
        table = app.query_one("#fc-table")
        labels = [str(c.label) for c in table.ordered_columns]
        assert labels == ["time", "passengers_q10", "passengers_q50", "passengers_q90"]
        assert table.row_count == 12
        low, mid, high = (float(v) for v in table.get_row_at(0)[1:])
        assert low <= mid <= high
        lines = app.query_one("#fc-plot").plt.monitor.label  # plotext keeps one label per line drawn
        assert lines == ["passengers", "passengers_q10", "passengers_q50", "passengers_q90"]


async def test_direction_model_shows_a_probability(workdir: Path, config_dir: Path, direction_model: Path) -> None:
    app = make_app("airline.csv", model_path=str(direction_model), config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        status = text_of(app, "#fc-status")
        assert "probability of a rise at the next step" in status
        table = app.query_one("#fc-table")
        assert [str(c.label) for c in table.ordered_columns] == ["time", "passengers_up_probability"]
        assert table.row_count == 1
        assert 0.0 <= float(table.get_row_at(0)[1]) <= 1.0
        await pilot.press("f1")  # still usable
        await pilot.pause()
        assert app.query_one("#tabs").active == "data"


async def test_quantiles_field(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        box = app.query_one("#quantiles")
        box.value = "0.1, abc"
        await pilot.pause()
        assert "'abc' is not a number" in text_of(app, "#msg-quantiles")
        box.value = "0.9,0.1"
        await pilot.pause()
        assert "quantiles must be distinct, increasing and between 0 and 1" in text_of(app, "#msg-quantiles")
        assert "Fix 1 field" in text_of(app, "#model-status")
        box.value = "0.1,0.5,0.9"
        await pilot.pause()
        assert "quantiles 0.1, 0.5, 0.9" in text_of(app, "#model-status")
        model_cfg, _ = app.query_one("#model-view").configs()
        assert model_cfg.quantiles == (0.1, 0.5, 0.9)


async def test_enter_in_the_model_list_picks_the_newest(workdir: Path, config_dir: Path, exported_model: Path) -> None:
    import os
    import shutil

    (workdir / "exports").mkdir()
    for age, name in ((100, "older.onnx"), (0, "newer.onnx")):
        shutil.copyfile(exported_model, workdir / "exports" / name)
        os.utime(workdir / "exports" / name, (1_700_000_000 - age, 1_700_000_000 - age))
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert app.focused is app.query_one("#fc-models")
        await pilot.press("enter")  # no arrow key first: the newest model is highlighted
        assert app.query_one("#fc-model").value == str(Path("exports") / "newer.onnx")
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert "Ran on CPUExecutionProvider" in text_of(app, "#fc-status")
