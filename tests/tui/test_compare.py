"""The Compare screen: run to a leaderboard, export or open a row, cancel, and errors that leave the app usable."""

from __future__ import annotations

import json
from pathlib import Path

from tui.app import make_app
from tui.screens.compare import RowChoice

from .conftest import SIZE, notes, set_compare, settle, text_of


def _rows(app) -> list[list[str]]:
    table = app.query_one("#cmp-table")
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def _choose(pilot, name: str) -> None:
    """Move the leaderboard cursor to a row and press Enter."""
    app = pilot.app
    table = app.query_one("#cmp-table")
    table.focus()
    table.move_cursor(row=table.get_row_index(name))
    await pilot.press("enter")
    await pilot.pause()


async def test_compare_to_leaderboard_then_export_and_open(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await set_compare(pilot)
        assert "hidden 4, window 24 → horizon 12, up to 1 epochs" in text_of(app, "#cmp-settings")
        await pilot.press("ctrl+r")
        await settle(pilot)
        status = text_of(app, "#cmp-status")
        assert status.startswith("Done in"), status
        assert "2 variants and 3 baselines ranked on 3 folds" in status
        rows = _rows(app)
        names = [r[1].removesuffix(" *").removesuffix(" !") for r in rows]  # ! marks a baseline that wins
        assert sorted(names) == ["drift", "gru", "lstm", "naive", "seasonal_naive"]
        assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
        best = [r[1] for r in rows if r[1].endswith(" *")]
        assert len(best) == 1 and best[0].removesuffix(" *") in ("gru", "lstm")
        assert all(r[2].count("±") == 1 for r in rows)  # MASE with its spread over folds
        assert app.query_one("#cmp-overall").progress == 2
        assert text_of(app, "#bartext-gru").startswith("done")
        assert (workdir / "exports" / "compare_airline" / "leaderboard.csv").is_file()
        assert app.focused is app.query_one("#cmp-table")
        lines = app.query_one("#cmp-plot").plt.monitor.label  # actual, the variants, the best baseline
        assert lines[0] == "actual" and {"gru", "lstm"} <= set(lines) and len(lines) == 4

        # a baseline has no model: a warning, no dialog
        await _choose(pilot, "naive")
        assert not isinstance(app.screen, RowChoice)
        assert any("is a baseline" in n for n in notes(app))

        # export a variant: copied to exports/<csv stem>_<variant>.onnx and offered on the Forecast screen
        await _choose(pilot, "gru")
        assert isinstance(app.screen, RowChoice)
        await pilot.press("e")
        await pilot.pause()
        exported = workdir / "exports" / "airline_gru.onnx"
        source = workdir / "exports" / "compare_airline" / "models" / "gru.onnx"
        assert exported.read_bytes() == source.read_bytes()
        assert not list((workdir / "exports").glob(".*.tmp"))
        assert any("Saved exports/airline_gru.onnx" in n for n in notes(app))
        options = app.query_one("#fc-models")
        assert "airline_gru.onnx" in [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

        # exporting it again never replaces the file there: a free name, said on screen
        exported.write_bytes(b"a model kept from before")
        await _choose(pilot, "gru")
        button = str(app.screen.query_one("#choice-export").label)
        assert (
            "Export to exports/airline_gru-2.onnx (a new name: exports/airline_gru.onnx exists and is kept)" in button
        )
        await pilot.press("e")
        await pilot.pause()
        assert exported.read_bytes() == b"a model kept from before"
        assert (workdir / "exports" / "airline_gru-2.onnx").read_bytes() == source.read_bytes()
        assert any(
            "Saved exports/airline_gru-2.onnx (a new name: exports/airline_gru.onnx exists" in n for n in notes(app)
        )

        # open another variant in the Forecast screen: it is selected there and forecast at once
        await _choose(pilot, "lstm")
        await pilot.press("f")
        await pilot.pause()
        assert app.query_one("#tabs").active == "forecast"
        assert app.query_one("#fc-model").value == str(Path("exports/compare_airline/models/lstm.onnx"))
        await settle(pilot)
        assert "Ran on CPUExecutionProvider" in text_of(app, "#fc-status")
        assert app.query_one("#fc-table").row_count == 12


async def test_click_chooses_a_row(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await set_compare(pilot, variants=("gru",), folds="1")
        await pilot.click("#cmp-start")
        await settle(pilot)
        table = app.query_one("#cmp-table")
        assert table.cursor_row == table.get_row_index("gru")  # the best variant is highlighted
        naive = table.get_row_index("naive")
        await pilot.click("#cmp-table", offset=(8, naive + 1))  # one click on another row; the header is line 0
        await pilot.pause()
        assert table.cursor_row == naive and any("is a baseline" in n for n in notes(app))
        await pilot.click("#cmp-table", offset=(8, table.get_row_index("gru") + 1))
        await pilot.pause()
        assert isinstance(app.screen, RowChoice)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RowChoice)
        assert not (workdir / "exports" / "airline_gru.onnx").exists()


async def test_cancel_compare(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await set_compare(pilot, epochs=2000)
        app.query_one("#cmp-budget").value = "none"  # only the cancel ends this run, however fast gru trains
        app.query_one("#patience").value = "100000"
        await pilot.pause()
        await pilot.press("ctrl+r")
        view = app.query_one("#compare-view")
        for _ in range(300):  # wait for the first epoch (torch may load first)
            await pilot.pause(0.05)
            if app.query_one("#bar-gru").progress >= 1:
                break
        assert view.running
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert not view.running
        status = text_of(app, "#cmp-status")
        assert status.startswith("Cancelled after"), status
        assert "0 of 2 variants ranked; gru was stopped during its training and is not ranked" in status
        assert "not started: lstm" in status
        names = [r[1].removesuffix(" *").removesuffix(" !") for r in _rows(app)]
        assert sorted(names) == ["drift", "naive", "seasonal_naive"]  # the cut training is not ranked
        saved = json.loads((workdir / "exports" / "compare_airline" / "leaderboard.json").read_text())
        assert saved["interrupted"].startswith("interrupted after 0 of 2 variants: gru was stopped")  # as the CLI
        assert text_of(app, "#bartext-lstm") == "skipped"
        assert text_of(app, "#bartext-gru").startswith("cancelled at")
        assert not app.query_one("#cmp-start").disabled  # ready to run again


async def test_too_many_folds_shows_the_error(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await set_compare(pilot, folds="20")
        await pilot.press("ctrl+r")
        await settle(pilot)
        status = text_of(app, "#cmp-status")
        assert "a backtest of 20 folds x horizon 12" in status and "use fewer folds" in status
        assert "--" not in status  # flags are named as the TUI's fields
        assert any("use fewer folds" in n for n in notes(app))
        view = app.query_one("#compare-view")
        assert not view.running and not app.query_one("#cmp-start").disabled
        assert app.query_one("#cmp-table").row_count == 0
        await pilot.press("f1")
        await pilot.pause()
        assert app.query_one("#tabs").active == "data"


async def test_bad_compare_fields_are_flagged(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await set_compare(pilot, variants=(), folds="x")
        app.query_one("#cmp-extra").value = "gru, tcn"
        await pilot.pause()
        assert "unknown variant 'tcn'" in text_of(app, "#cmp-extra-msg")
        assert text_of(app, "#cmp-folds-msg") == "'x' is not a whole number"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not app.query_one("#compare-view").running
        assert any("Cannot compare yet" in n and "Variants" in n for n in notes(app))
        app.query_one("#cmp-extra").value = ""
        await pilot.pause()
        assert "no variant chosen" in text_of(app, "#cmp-extra-msg")


async def test_compare_needs_data(workdir: Path, config_dir: Path) -> None:
    app = make_app(config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        assert "Not ready" in text_of(app, "#cmp-settings")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not app.query_one("#compare-view").running
        assert any("Cannot compare yet" in n and "no data loaded" in n for n in notes(app))
