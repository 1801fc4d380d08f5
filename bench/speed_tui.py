"""Topic 7: the TUI's first screen as a user sees it, timed in a real terminal (tmux).

Each run starts `tsrnn tui FILE` in a detached tmux session (160 x 48) and reads the pane every 20 ms until the
Data screen's summary shows the file's row count: the time from the start command to that moment is what a user
waits for. One untimed run first warms the file cache, then 5 timed runs per file; a private tmux server (its own
socket, started before the runs) keeps a user's sessions out of it. The settings file lives in a temporary
$XDG_CONFIG_HOME and remembers only the file (and the target of a file with several numeric columns), so no
earlier session changes what opens. Also timed: `import tui.app` in a fresh interpreter
(`-X importtime`, its own cumulative figure) and whether torch was imported for the first screen.

Run: python -m bench.speed_tui
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tsrnn.data.loader import demo_path

from .speed_common import VIC_ELEC, CpuMonitor, cores, table

TARGET_S = 1.0
"""From the command to the data on screen, for the demo file."""
RUNS = 5
POLL_S = 0.02
TIMEOUT_S = 30.0
SIZE = ("160", "48")
ROWS = re.compile(r"\brows {8}\d+")
"""The summary line only the loaded Data screen shows."""
SOCKET = f"tsrnn-bench-{os.getpid()}"
"""The private tmux server's socket name (tmux -L); its file is removed after the runs."""


@dataclass
class FileTimes:
    label: str
    seconds: list[float]
    load: float | None
    """Cores other processes kept busy in the second before the runs (the TUI itself runs under tmux, so it would
    count as 'other' during them)."""


@dataclass
class TuiStartup:
    files: list[FileTimes] | None
    """None when tmux is missing."""
    import_s: list[float]
    torch_at_start: bool


def _tmux(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=check)


def _tsrnn() -> list[str]:
    script = Path(sys.executable).with_name("tsrnn")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tsrnn"]


def first_screen(path: Path, config_home: Path) -> float:
    """Seconds from `tsrnn tui PATH` to its row count on the screen of a fresh tmux session."""
    session = "run"
    command = shlex.join(["env", f"XDG_CONFIG_HOME={config_home}", *_tsrnn(), "tui", str(path)])
    start = time.perf_counter()
    _tmux("new-session", "-d", "-s", session, "-x", SIZE[0], "-y", SIZE[1], command)
    try:
        while True:
            pane = _tmux("capture-pane", "-p", "-t", session, check=False).stdout
            elapsed = time.perf_counter() - start
            if ROWS.search(pane):
                return elapsed
            if elapsed > TIMEOUT_S:
                raise RuntimeError(f"tsrnn tui {path}: no data on screen after {TIMEOUT_S:.0f} s:\n{pane}")
            time.sleep(POLL_S)
    finally:
        _tmux("kill-session", "-t", session, check=False)


def _quiet_load(seconds: float = 1.0) -> float | None:
    monitor = CpuMonitor()
    time.sleep(seconds)
    return monitor.stop()


@dataclass(frozen=True)
class BenchFile:
    label: str
    path: Path
    targets: tuple[str, ...] = ()
    """Remembered as the last session's choice, for a file with several numeric columns."""


def time_files(files: list[BenchFile], runs: int = RUNS) -> list[FileTimes]:
    """`runs` timed starts per file, after one untimed start, on a private tmux server."""
    out = []
    with tempfile.TemporaryDirectory(prefix="tsrnn-tui-") as tmp:
        _tmux("new-session", "-d", "-s", "keep", "-x", SIZE[0], "-y", SIZE[1], "sleep 3600")
        try:
            for i, f in enumerate(files):
                home = Path(tmp) / str(i)
                (home / "tsrnn").mkdir(parents=True)
                remembered = {"data": {"path": str(f.path), "targets": list(f.targets)}}
                (home / "tsrnn" / "tui.json").write_text(json.dumps(remembered))
                first_screen(f.path, home)
                load = _quiet_load()
                out.append(FileTimes(f.label, [first_screen(f.path, home) for _ in range(runs)], load))
                print(f"  {f.label}: done", file=sys.stderr, flush=True)
        finally:
            _tmux("kill-server", check=False)
            Path(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}", SOCKET).unlink(missing_ok=True)
    return out


IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| tui\.app$", re.MULTILINE)


def import_seconds(runs: int = RUNS) -> tuple[list[float], bool]:
    """`import tui.app` in fresh interpreters (its cumulative -X importtime figure), and whether torch came with it."""
    times = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import tui.app"], capture_output=True, text=True, check=True
        )
        match = IMPORT_LINE.search(proc.stderr)
        assert match, proc.stderr[-2000:]
        times.append(int(match.group(1)) / 1e6)
    probe = "import sys, tui.app; print('torch' in sys.modules)"
    torch = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    return times, torch == "True"


def run_tui(runs: int = RUNS) -> TuiStartup:
    imports, torch = import_seconds(runs)
    files = [BenchFile("demo (airline, 144 rows)", demo_path())]
    if VIC_ELEC.is_file():
        files.append(BenchFile(f"{VIC_ELEC.name} (52,608 rows, 2 MiB; target demand)", VIC_ELEC, ("demand",)))
    return TuiStartup(time_files(files, runs) if shutil.which("tmux") else None, imports, torch)


def render_tui(result: TuiStartup) -> list[str]:
    """The `make bench` section: seconds from `tsrnn tui FILE` to the data on screen."""
    imp = result.import_s
    lines = [
        "## 7. TUI: from `tsrnn tui FILE` to the data on screen",
        "",
        f"`tsrnn tui FILE` started in a detached tmux session ({SIZE[0]} x {SIZE[1]}), the pane read every "
        f"{POLL_S * 1000:.0f} ms until the Data screen shows the file's row count; one untimed start first, then "
        f"{len(imp)} timed starts per file (a fresh process each; a temporary settings file remembers only the file "
        "and its target). "
        f"`import tui.app` (the `-X importtime` cumulative figure, median of {len(imp)} fresh interpreters): "
        f"{statistics.median(imp):.3f} s (min {min(imp):.3f}, max {max(imp):.3f}); torch imported for the first "
        f"screen: {'yes' if result.torch_at_start else 'no'}.",
        "",
    ]
    if result.files is None:
        return [*lines, "Skipped: tmux is not installed (`apt-get install tmux`)."]
    rows = [
        [
            f.label,
            f"{statistics.median(f.seconds):.2f}",
            f"{min(f.seconds):.2f}",
            f"{max(f.seconds):.2f}",
            cores(f.load),
        ]
        for f in result.files
    ]
    demo = statistics.median(result.files[0].seconds)
    verdict = "reached" if demo <= TARGET_S else "missed"
    return [
        *lines,
        *table(["file", "median (s)", "min (s)", "max (s)", "other load before (cores)"], "lrrrr", rows),
        "",
        f"Target {verdict}: the demo's data on screen in {demo:.2f} s (target <= {TARGET_S:.1f} s).",
    ]


def main() -> None:
    print("\n".join(render_tui(run_tui())))


if __name__ == "__main__":
    main()
