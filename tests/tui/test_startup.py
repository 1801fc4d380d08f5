"""The first screen appears without torch, in a fresh interpreter, and quickly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import asyncio, sys, time
    t0 = time.perf_counter()
    from tui.app import make_app
    from tsrnn.data.loader import demo_path

    async def main():
        app = make_app(str(demo_path()), config_dir=__import__("pathlib").Path(sys.argv[1]))
        async with app.run_test(size=(120, 40)) as pilot:
            while "rows" not in str(app.query_one("#data-summary").render()):
                await pilot.pause(0.02)
            print(f"first screen {time.perf_counter() - t0:.2f} s")
            print("torch" in sys.modules, "onnxruntime" in sys.modules)

    asyncio.run(main())
""")


def test_first_screen_without_torch(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "False False", f"torch or onnxruntime imported before the first screen: {out.stdout}"


def test_tui_is_the_package_not_the_tests() -> None:
    """tests/tui is not a package named `tui` (pytest's importlib mode): `import tui` reads the terminal UI."""
    import tui

    assert Path(tui.__file__).resolve().parent == ROOT / "tui"
