"""Each kind of bad input gets a message that says what is wrong, and the app stays usable."""

from __future__ import annotations

import shutil
from pathlib import Path

from tui.app import make_app

from .conftest import DATA, SIZE, notes, set_small_model, settle, text_of


async def test_malformed_csv(workdir: Path, config_dir: Path) -> None:
    shutil.copy(DATA / "ragged.csv", workdir)
    app = make_app("ragged.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        summary = text_of(app, "#data-summary")
        assert "line 3 has 3 fields, expected 2" in summary
        assert "fix or remove that line" in summary
        assert any("Bad data" in n for n in notes(app))
        # still usable: open a good file
        await pilot.press("ctrl+o", *"airline.csv", "enter")
        await settle(pilot)
        assert "rows        144" in text_of(app, "#data-summary")


async def test_missing_file_and_several_numeric_columns(workdir: Path, config_dir: Path) -> None:
    (workdir / "two.csv").write_text("time,a,b\n" + "".join(f"2020-01-{d:02d},{d},{2 * d}\n" for d in range(1, 29)))
    app = make_app("nope.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "nope.csv: file not found" in text_of(app, "#data-summary")
        await pilot.press("ctrl+o", *"two.csv", "enter")
        await settle(pilot)
        summary = text_of(app, "#data-summary")
        assert "several numeric columns (a, b); choose what to forecast in the Targets list" in summary
        # choosing a target in the list reloads the file
        app.query_one("#targets").select("b")
        await pilot.pause()
        await settle(pilot)
        assert "targets     b" in text_of(app, "#data-summary")


async def test_invalid_model_fields_are_flagged_before_training(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        app.query_one("#hidden_size").value = "abc"
        app.query_one("#dropout").value = "1.5"
        app.query_one("#input_len").value = "200"
        await pilot.pause()
        assert text_of(app, "#msg-hidden_size") == "'abc' is not a whole number"
        assert "dropout must be in [0, 1), got 1.5" in text_of(app, "#msg-dropout")
        assert "the series has 144 rows; input window 200 and horizon 12 need" in text_of(app, "#msg-input_len")
        assert "Fix 3 fields before training" in text_of(app, "#model-status")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.query_one("#tabs").active == "model"
        assert not app.query_one("#train-view").training
        assert any("Cannot train yet" in n and "Hidden size" in n for n in notes(app))


async def test_not_a_tsrnn_model(workdir: Path, config_dir: Path) -> None:
    (workdir / "junk.onnx").write_bytes(b"this is not onnx")
    app = make_app("airline.csv", model_path="junk.onnx", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.query_one("#tabs").active == "forecast"
        await pilot.press("ctrl+f")
        await settle(pilot)
        status = text_of(app, "#fc-status")
        assert "Bad model file" in status and "junk.onnx: not a readable ONNX model" in status
        assert app.query_one("#fc-save").disabled is not False  # nothing to save


async def test_csv_columns_do_not_match_model(workdir: Path, config_dir: Path, exported_model: Path) -> None:
    shutil.copy(DATA / "other_columns.csv", workdir)
    app = make_app("airline.csv", model_path=str(exported_model), config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#fc-csv").value = "other_columns.csv"
        await pilot.press("ctrl+f")
        await settle(pilot)
        status = text_of(app, "#fc-status")
        assert "columns 'passengers' are missing" in status
        assert "needs time, passengers" in status
        # the right CSV works afterwards
        app.query_one("#fc-csv").value = "airline.csv"
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert "Ran on CPUExecutionProvider" in text_of(app, "#fc-status")


async def test_cuda_provider_unavailable(workdir: Path, config_dir: Path, exported_model: Path) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return
    app = make_app("airline.csv", model_path=str(exported_model), config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#fc-provider").value = "cuda"
        await pilot.press("ctrl+f")
        await settle(pilot)
        status = text_of(app, "#fc-status")
        assert "Ran on CPUExecutionProvider" in status  # the forecast still runs, on the CPU, and says why
        assert "this onnxruntime offers no CUDA provider" in status and "on the CPU instead" in status


async def test_unwritable_export_and_save_paths(workdir: Path, config_dir: Path, exported_model: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await set_small_model(pilot, epochs=1)
        await pilot.press("ctrl+t")
        await settle(pilot)
        app.query_one("#export-path").value = "airline.csv/model.onnx"  # a file where a folder should be
        await pilot.press("ctrl+e")
        await settle(pilot)
        shown = text_of(app, "#export-result")
        assert "Export failed" in shown and "cannot write airline.csv/model.onnx" in shown
        assert "type another path and try again" in shown
        assert not (workdir / "exports").exists()
        # forecast, then try to save where no file can go
        app.query_one("#fc-model").value = str(exported_model)
        await pilot.press("ctrl+f")
        await settle(pilot)
        app.query_one("#fc-out").value = "airline.csv/out.csv"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "cannot write airline.csv/out.csv" in text_of(app, "#fc-status")
        # and a good path still works
        app.query_one("#export-path").value = "ok.onnx"
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert (workdir / "ok.onnx").is_file()


async def test_corrupt_settings_are_ignored(workdir: Path, config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "tui.json").write_text("{not json")
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert any("Settings ignored" in n and "could not read the saved settings" in n for n in notes(app))
        assert "rows        144" in text_of(app, "#data-summary")
    # the next save replaces the corrupt file with a good one
    import json

    assert json.loads((config_dir / "tui.json").read_text())["data"]["path"] == "airline.csv"


async def test_calendar_fields_are_checked_and_reach_the_model(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # 24 months show every month twice: auto adds nothing
        assert "calendar    none (auto with the default window" in text_of(app, "#data-summary")
        await pilot.press("f2")
        app.query_one("#calendar").value = "hour"
        app.query_one("#holidays").value = "XX"
        await pilot.pause()
        assert "'hour' is constant on monthly data" in text_of(app, "#msg-calendar")
        app.query_one("#calendar").value = "month,quarter"
        await pilot.pause()
        assert "unknown country code 'XX'" in text_of(app, "#msg-holidays")
        app.query_one("#holidays").value = "US"
        app.query_one("#tz").value = "Mars/Base"
        await pilot.pause()
        assert "unknown time zone 'Mars/Base'" in text_of(app, "#msg-tz")
        app.query_one("#tz").value = ""
        await set_small_model(pilot, epochs=1)
        status = text_of(app, "#model-status")
        assert "calendar features: month, quarter (sin/cos); holidays US" in status, status
        await pilot.press("ctrl+t")
        await settle(pilot)
        exp = app.query_one("#train-view").experiment
        assert exp is not None and exp.model_cfg.n_known == 7
        assert exp.data.known_spec.columns[-3:] == ["holiday", "day_before", "day_after"]


async def test_forecast_warns_about_the_history(workdir: Path, config_dir: Path, exported_model: Path) -> None:
    lines = (workdir / "airline.csv").read_text().splitlines()
    lines[-3] = lines[-3].split(",")[0] + ","  # an empty cell in the last window
    (workdir / "gappy.csv").write_text("\n".join([*lines, "1961-01-01,"]) + "\n")  # and a row without a value
    app = make_app("gappy.csv", model_path=str(exported_model), config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("ctrl+f")
        await settle(pilot)
        status = text_of(app, "#fc-status")
        assert "Ran on CPUExecutionProvider" in status
        assert "the last 1 row(s) from 1961-01-01 have an empty value and were left out" in status
        assert "1 of the last 24 steps the model reads were missing and interpolated" in status


async def test_seasonal_skip_is_checked_and_reaches_the_model(workdir: Path, config_dir: Path) -> None:
    """The Model screen's Seasonal skip uses the data's season (12 for monthly airline): refused with a window
    shorter than the season, kept in the trained model otherwise."""
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        app.query_one("#seasonal_skip").value = True
        app.query_one("#input_len").value = "6"
        await pilot.pause()
        assert "the season (12 steps) is longer than the input window (6)" in text_of(app, "#msg-seasonal_skip")
        assert "Fix 1 field before training" in text_of(app, "#model-status")
        app.query_one("#input_len").value = "24"
        await set_small_model(pilot, epochs=1)
        assert "adds the last 12 steps" in text_of(app, "#msg-seasonal_skip")
        await pilot.press("ctrl+t")
        await settle(pilot)
        exp = app.query_one("#train-view").experiment
        assert exp is not None and exp.model_cfg.seasonal_skip == 12
