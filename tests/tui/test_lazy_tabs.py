"""Only the Data screen is built at start; every other screen is imported and mounted when it is first needed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tui.app import make_app

from .conftest import SIZE, notes, settle, text_of

ROOT = Path(__file__).resolve().parents[2]
LATER = {
    "f2": ("model", "tui.screens.model"),
    "f3": ("train", "tui.screens.train"),
    "f4": ("forecast", "tui.screens.forecast"),
    "f5": ("help", "tui.screens.help"),
    "f6": ("compare", "tui.screens.compare"),
}

SCRIPT = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path
    from tui.app import make_app

    LATER = json.loads(sys.argv[2])

    def loaded():
        return sorted(m for _, m in LATER.values() if m in sys.modules)

    async def main():
        app = make_app(config_dir=Path(sys.argv[1]))
        out = {}
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            out["start"] = loaded()
            for key in LATER:
                await pilot.press(key)
                await pilot.pause()
                out[key] = loaded()
        print(json.dumps(out))

    asyncio.run(main())
""")


def test_screen_modules_are_imported_when_their_tab_opens(tmp_path: Path) -> None:
    """In a fresh interpreter: nothing but the Data screen's module at start, then one more module per tab."""
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), json.dumps(LATER)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["start"] == []
    assert "tui.screens.model" in seen["f2"] and "tui.screens.compare" not in seen["f2"]
    assert "tui.screens.forecast" in seen["f4"] and "tui.screens.help" not in seen["f4"]
    assert seen["f6"] == sorted(m for _, m in LATER.values())


async def test_each_tab_shows_its_screen_when_first_opened(workdir: Path, config_dir: Path) -> None:
    app = make_app(config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert [p.id for p in app.query("TabPane")] == ["data", "model", "train", "forecast", "help", "compare"]
        assert len(app.query("#data-view")) == 1
        for tab, _ in LATER.values():
            assert not app.query(f"#{tab}-view"), f"{tab} built before it was needed"
        for key, (tab, _) in LATER.items():
            await pilot.press(key)
            await pilot.pause()
            assert app.query_one("#tabs").active == tab
            view = app.query_one(f"#{tab}-view")
            assert view.parent is app.query_one(f"#{tab}") and view.region.area > 0, f"{tab} is not shown"
        assert "Load a CSV on the Data screen (F1) before training." in text_of(app, "#model-status")
        assert "Not ready" in text_of(app, "#cmp-settings")


async def test_a_click_on_a_tab_builds_its_screen(workdir: Path, config_dir: Path) -> None:
    app = make_app(config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#--content-tab-help")
        await pilot.pause()
        assert app.query_one("#tabs").active == "help"
        assert app.query_one("#help-view").region.area > 0


async def test_keys_build_the_screens_they_act_on(workdir: Path, config_dir: Path) -> None:
    app = make_app(config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert any("Cannot train yet" in n and "no data loaded" in n for n in notes(app))
        assert app.query_one("#tabs").active == "data"
        assert not app.query_one("#train-view").training
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.query_one("#tabs").active == "compare"
        assert any("Cannot compare yet" in n for n in notes(app))


async def test_screens_built_after_the_file_know_it(workdir: Path, config_dir: Path) -> None:
    """With a file to open, the other screens are built in the background once it is shown, with its data."""
    app = make_app("airline.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for tab, _ in LATER.values():
            assert app.query_one(f"#{tab}-view").parent is app.query_one(f"#{tab}")
        assert app.query_one("#tabs").active == "data"
        assert text_of(app, "#model-status").startswith("Ready:")
        assert app.query_one("#input_len").placeholder == "24 (default)"
        assert app.query_one("#fc-csv").value == "airline.csv"
        assert "Not ready" not in text_of(app, "#cmp-settings")


async def test_a_file_opened_later_reaches_screens_built_before(workdir: Path, config_dir: Path) -> None:
    app = make_app(config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        assert app.query_one("#fc-csv").value == ""
        await pilot.press("ctrl+o", *"airline.csv", "enter")
        await settle(pilot)
        assert app.query_one("#fc-csv").value == "airline.csv"
        await pilot.press("f2")
        await pilot.pause()
        assert text_of(app, "#model-status").startswith("Ready:")
        await settle(pilot)  # the rest are built in the background after the file
