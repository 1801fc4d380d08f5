"""The Train screen's INT8 copy: quantize the exported model and show how far it drifts from the float one."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox

from tui.app import make_app

from .conftest import SIZE, notes, set_small_model, settle, text_of


async def _train(pilot: Pilot) -> None:
    await settle(pilot)
    await set_small_model(pilot, epochs=1)
    await pilot.press("ctrl+t")
    await settle(pilot)
    assert "Finished after 1 epochs" in text_of(pilot.app, "#train-status")


async def _export(pilot: Pilot, path: Path) -> None:
    pilot.app.query_one("#export-path").value = str(path)
    await pilot.press("ctrl+e")
    await settle(pilot)


async def test_int8_copy_is_written_and_reported(
    workdir: Path, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _train(pilot)
        box = app.query_one("#export-int8", Checkbox)
        view = app.query_one("#train-view")

        # off by default: only the float model is written
        assert box.value is False
        await _export(pilot, tmp_path / "plain" / "m.onnx")
        assert (tmp_path / "plain" / "m.onnx").is_file()
        assert list((tmp_path / "plain").iterdir()) == [tmp_path / "plain" / "m.onnx"]
        assert text_of(app, "#int8-result") == ""
        assert "max abs error" in text_of(app, "#export-result")

        # reachable by keyboard: Tab from the path box, Space ticks it
        app.query_one("#export-path").focus()
        await pilot.press("tab")
        assert app.focused is box
        await pilot.press("space")
        assert box.value is True
        out = tmp_path / "q" / "m.onnx"
        await _export(pilot, out)
        assert out.is_file() and (tmp_path / "q" / "m.int8.onnx").is_file()
        shown = text_of(app, "#export-result")
        assert str(out) in shown and "max abs error" in shown  # the float result stays above
        report = text_of(app, "#int8-result")
        assert f"INT8 model: {tmp_path / 'q' / 'm.int8.onnx'}" in report
        assert f"float {out.stat().st_size / 1024:.0f} KiB" in report
        assert "DynamicQuantizeLSTM" in report  # the default cell is an LSTM: its layers become INT8
        rows = report.splitlines()
        assert any(r.startswith("float ") for r in rows) and any(r.startswith("int8 ") for r in rows)
        assert "largest forecast difference" in report and "materially worse" not in report
        assert any(n.startswith("INT8 copy: Saved") for n in notes(app))
        assert not view.exporting and not app.query_one("#train-export").disabled

        # a copy much worse than the float model is flagged as a warning, on screen and in a toast
        monkeypatch.setattr("tsrnn.export.quantize.MATERIAL", -1.0)
        await _export(pilot, tmp_path / "w" / "m.onnx")
        assert "warning: the INT8 model is materially worse" in text_of(app, "#int8-result")
        worse = [n for n in app._notifications if n.title == "INT8 copy is worse"]
        assert len(worse) == 1 and worse[0].severity == "warning"

        # the mouse unticks it again
        await pilot.click("#export-int8")
        assert box.value is False


async def test_int8_failure_keeps_the_float_model(
    workdir: Path, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tsrnn.core.errors import ModelFileError

    def broken(src: object, dst: object = None) -> Path:
        raise ModelFileError("the quantizer broke on purpose")

    monkeypatch.setattr("tsrnn.export.quantize.quantize_model", broken)
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _train(pilot)
        await pilot.click("#export-int8")
        out = tmp_path / "m.onnx"
        await _export(pilot, out)
        assert out.is_file() and not (tmp_path / "m.int8.onnx").exists()
        assert "max abs error" in text_of(app, "#export-result")
        shown = text_of(app, "#int8-result")
        assert "INT8 copy failed:" in shown and "the quantizer broke on purpose" in shown
        assert f"the float model {out} is kept" in shown
        assert any(n.startswith("INT8 copy failed:") for n in notes(app))

        # an OSError (disk full, no permission) is reported the same way
        def unwritable(src: object, dst: object = None) -> Path:
            raise PermissionError(13, "Permission denied", str(tmp_path / "n.int8.onnx"))

        monkeypatch.setattr("tsrnn.export.quantize.quantize_model", unwritable)
        await _export(pilot, tmp_path / "n.onnx")
        shown = text_of(app, "#int8-result")
        assert f"cannot write the INT8 copy of {tmp_path / 'n.int8.onnx'}: Permission denied" in shown
        assert (tmp_path / "n.onnx").is_file()

        # the app is still usable: export again without the INT8 copy, and train again
        view = app.query_one("#train-view")
        assert not view.exporting and not app.query_one("#train-export").disabled
        await pilot.click("#export-int8")
        await _export(pilot, tmp_path / "again.onnx")
        assert (tmp_path / "again.onnx").is_file() and text_of(app, "#int8-result") == ""
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "Finished after 1 epochs" in text_of(app, "#train-status")


async def test_the_suggested_export_path_never_replaces_a_model(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _train(pilot)
        box = app.query_one("#export-path")
        suggested = Path(box.value)
        await pilot.press("ctrl+e")
        await settle(pilot)
        first = (workdir / suggested).read_bytes()
        inode = (workdir / suggested).stat().st_ino
        await pilot.press("ctrl+e")  # the same suggestion again: a new name, the first file kept
        await settle(pilot)
        second = workdir / suggested.with_name(f"{suggested.stem}-2.onnx")
        assert second.is_file() and box.value == str(suggested.with_name(second.name))
        assert (workdir / suggested).read_bytes() == first
        box.value = str(suggested)  # a path the user types is theirs: replaced as asked
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert (workdir / suggested).stat().st_ino != inode  # written anew (a temporary file renamed over it)
        assert not (workdir / suggested.with_name(f"{suggested.stem}-3.onnx")).exists()
