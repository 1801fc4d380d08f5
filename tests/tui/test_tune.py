"""The Tune dialog of the Compare screen: a live table of trials, written tables, cancel, and form errors."""

from __future__ import annotations

from pathlib import Path

from tui.app import make_app
from tui.screens.tune import TuneScreen

from .conftest import SIZE, notes, set_compare, settle, text_of


async def _tuned(pilot) -> None:
    """Wait for the tune worker (conftest's settle waits only for the app's own groups)."""
    app = pilot.app
    ours = [w for w in app.workers if w.group == "tune"]
    if ours:
        await app.workers.wait_for_complete(ours)
    await pilot.pause(0.1)


def _rows(screen: TuneScreen) -> list[list[str]]:
    table = screen.query_one("#tune-table")
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_tune_shows_a_row_per_trial(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await set_compare(pilot, variants=("gru",), epochs=2, folds="2")
        await pilot.click("#cmp-tune")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TuneScreen)
        assert "gru" in text_of(screen, "#tune-about") and "2 folds" in text_of(screen, "#tune-about")
        screen.query_one("#tune-trials").value = "2"
        await pilot.click("#tune-start")
        await _tuned(pilot)
        rows = _rows(screen)
        assert [r[0] for r in rows] == ["1", "2"]
        assert all(r[1] in ("complete", "pruned") for r in rows)
        assert all(r[2].startswith(("gru ", "bigru ")) and "window" in r[2] for r in rows)
        complete = [r for r in rows if r[1] == "complete"]
        assert complete and all(float(r[3]) > 0 for r in complete)
        status = text_of(screen, "#tune-status")
        assert status.startswith("Done in") and "2 trials" in status and "best: trial" in status
        assert "tsrnn train" in text_of(screen, "#tune-result")
        folder = workdir / "exports" / "tune_airline"
        assert (folder / "trials.csv").is_file() and (folder / "best.onnx").is_file()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TuneScreen)


async def test_tune_form_errors_and_cancel(workdir: Path, config_dir: Path) -> None:
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await set_compare(pilot, variants=("gru",), epochs=2000, folds="2")
        app.query_one("#patience").value = "100000"  # the first trial runs until cancelled, however fast it trains
        await pilot.pause()
        app.query_one("#cmp-variants").focus()
        await pilot.press("ctrl+g")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TuneScreen)
        screen.query_one("#tune-trials").value = "many"
        await pilot.click("#tune-start")
        await pilot.pause()
        assert "'many' is not a whole number" in text_of(screen, "#tune-status")
        assert not screen.running
        screen.query_one("#tune-trials").value = "50"
        await pilot.pause(0.4)  # a button ignores a second click while its press highlight lasts
        await pilot.click("#tune-start")
        for _ in range(400):  # until the first epoch of the first trial (torch and optuna may load first)
            await pilot.pause(0.05)
            if "epoch" in text_of(screen, "#tune-status"):
                break
        assert screen.running, text_of(screen, "#tune-status")
        await pilot.press("escape")  # refused while it runs
        await pilot.pause()
        assert isinstance(app.screen, TuneScreen) and any("cancel it first" in n for n in notes(app))
        await pilot.press("ctrl+x")
        await _tuned(pilot)
        status = text_of(screen, "#tune-status")
        assert status.startswith("Cancelled"), status
        assert len(_rows(screen)) == 1  # the trial that was running, listed as interrupted and not scored
        assert "interrupted" in _rows(screen)[0]
        trials_md = (workdir / "exports" / "tune_airline" / "trials.md").read_text()
        assert "interrupted after 0 of 50 trials: trial 1 was stopped during its training" in trials_md  # as the CLI
