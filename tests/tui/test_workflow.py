"""The whole path through the UI: open, set a model, train, export, forecast, save."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import polars as pl

from tui.app import make_app

from .conftest import SIZE, set_small_model, settle, text_of


async def test_open_train_export_forecast_save(workdir: Path, config_dir: Path) -> None:
    app = make_app(config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        await pilot.press(*"airline.csv", "enter")
        await settle(pilot)
        summary = text_of(app, "#data-summary")
        assert "rows        144" in summary
        assert "monthly" in summary
        assert "1949-01-01 → 1960-12-01" in summary
        assert app.query_one("#data-preview").row_count == 11  # 5 first, a gap marker, 5 last

        await pilot.press("f2")
        await set_small_model(pilot)
        assert "Ready:" in text_of(app, "#model-status")

        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.query_one("#tabs").active == "train"
        status = text_of(app, "#train-status")
        assert "Finished after 2 epochs" in status
        metrics = app.query_one("#metrics")
        methods = [metrics.get_row_at(i)[0] for i in range(metrics.row_count)]
        assert methods == ["model", "naive", "seasonal naive", "drift"]

        await pilot.press("ctrl+e")
        await settle(pilot)
        onnx = workdir / "exports" / "airline_lstm1x8.onnx"
        assert onnx.is_file()
        shown = text_of(app, "#export-result")
        assert "exports/airline_lstm1x8.onnx" in shown and "max abs error" in shown

        await pilot.press("f4")
        await pilot.pause()
        assert app.query_one("#fc-model").value == str(Path("exports/airline_lstm1x8.onnx"))
        assert app.query_one("#fc-csv").value == "airline.csv"
        await pilot.press("ctrl+f")
        await settle(pilot)
        status = text_of(app, "#fc-status")
        assert "Ran on CPUExecutionProvider" in status and " ms " in status
        table = app.query_one("#fc-table")
        assert table.row_count == 12
        assert table.get_row_at(0)[0] == "1961-01-01"

        app.query_one("#fc-out").value = "out/forecast.csv"
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = pl.read_csv(workdir / "out" / "forecast.csv")
        assert saved.columns == ["time", "passengers"] and saved.height == 12

    remembered = json.loads((config_dir / "tui.json").read_text())
    assert remembered["data"]["path"] == "airline.csv"
    assert remembered["model"]["hidden_size"] == "8"
    assert remembered["forecast"]["out"] == "out/forecast.csv"


async def test_settings_are_restored(workdir: Path, config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "tui.json").write_text(
        json.dumps(
            {
                "data": {"path": "airline.csv", "targets": ["passengers"]},
                "model": {"cell": "gru", "hidden_size": "16", "epochs": "7"},
                "forecast": {"out": "mine.csv"},
            }
        )
    )
    app = make_app(config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "rows        144" in text_of(app, "#data-summary")
        assert app.query_one("#cell").value == "gru"
        assert app.query_one("#hidden_size").value == "16"
        assert app.query_one("#epochs").value == "7"
        assert app.query_one("#fc-out").value == "mine.csv"


async def test_keys_work_while_training(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await set_small_model(pilot, epochs=2000)
        app.query_one("#patience").value = "2000"  # no early stop: training outlasts the key presses
        await pilot.pause()
        await pilot.press("ctrl+t")
        view = app.query_one("#train-view")
        for _ in range(200):  # wait for the first epoch (torch loads first)
            await pilot.pause(0.05)
            if app.query_one("#train-progress").progress >= 1:
                break
        assert view.training
        await pilot.press("f1")
        await pilot.pause()
        assert app.query_one("#tabs").active == "data"
        await pilot.press("f5")
        await pilot.pause()
        assert app.query_one("#tabs").active == "help"
        await pilot.press("f3")
        await pilot.pause()
        assert app.query_one("#tabs").active == "train"
        assert view.training, "keys took effect while training was still running"
        before = app.query_one("#train-progress").progress
        await pilot.pause(0.5)
        assert app.query_one("#train-progress").progress > before  # the UI kept receiving epochs
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert not view.training


async def test_cancel_keeps_best_weights(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await set_small_model(pilot, epochs=2000)
        await pilot.press("f3")
        await pilot.pause()
        await pilot.click("#train-start")
        for _ in range(200):
            await pilot.pause(0.05)
            if app.query_one("#train-progress").progress >= 2:
                break
        await pilot.click("#train-cancel")
        await settle(pilot)
        status = text_of(app, "#train-status")
        assert status.startswith("Cancelled after")
        assert "kept the best weights" in status
        view = app.query_one("#train-view")
        assert view.experiment is not None and view.experiment.result.stopped == "cancelled"
        assert view.experiment.result.epochs_run < 2000
        assert any("Training was cancelled" in str(n.message) for n in app._notifications)
        assert app.query_one("#metrics").row_count == 4


async def test_first_screen_is_not_blocked(workdir: Path, config_dir: Path) -> None:
    """Loading runs in a worker: the app answers keys at once."""
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await asyncio.sleep(0)
        await pilot.pause()
        assert app.query_one("#tabs").active == "help"


async def test_future_columns_from_model_screen_to_forecast(workdir: Path, config_dir: Path) -> None:
    real = Path(__file__).parents[1] / "data" / "real"
    for name in ("electricity_price_hourly_exog.csv", "electricity_price_future_exog.csv"):
        shutil.copy(real / name, workdir)
    app = make_app("electricity_price_hourly_exog.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "targets     y" in text_of(app, "#data-summary")
        await pilot.press("f2")
        app.query_one("#future").value = "Exogenous1, promo"
        await pilot.pause()
        assert "no column 'promo'" in text_of(app, "#msg-future")
        app.query_one("#future").value = "Exogenous1,Exogenous2,day_0,day_1,day_2,day_3,day_4,day_5,day_6"
        await set_small_model(pilot, epochs=1)
        assert "future columns Exogenous1, Exogenous2, day_0" in text_of(app, "#model-status")
        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert "no value of 'Exogenous1' for 2018-12-24T00:00:00" in text_of(app, "#fc-status")
        app.query_one("#fc-future").value = "electricity_price_future_exog.csv"
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert "Ran on CPUExecutionProvider" in text_of(app, "#fc-status")
        table = app.query_one("#fc-table")
        assert table.row_count == 24 and table.get_row_at(0)[1] == "2018-12-24T00:00:00"
