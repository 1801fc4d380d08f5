"""Topics 4 and 5, timed as separate processes: `tsrnn forecast` over a file of very many series, and start-up."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsrnn.core.config import TrainConfig
from tsrnn.data.loader import demo_path, load_series
from tsrnn.experiment.pipeline import model_config, train_experiment, variant_name

from . import many_series
from .speed_common import SHARED, CpuMonitor, Settings, cores, table

TOURISM = SHARED / "tourism_quarterly_long.csv"
SLICE_SERIES = 304
"""Series of the generated file the small many-series model trains on (one copy of each tourism series)."""
SLICE_BATCH = 256
SMALL_MODEL: dict[str, Any] = {"cell": "gru", "hidden_size": 32, "num_layers": 1}
STARTUP_TARGET = 2.0
"""`tsrnn forecast MODEL demo` may take at most this many times `python -c "import onnxruntime, polars"`."""
LATENCY = re.compile(r"(\d+) series x (\d+) steps in ([\d.]+) ms")


def tsrnn_command() -> list[str]:
    """The installed `tsrnn` script beside this interpreter, else `python -m tsrnn`."""
    script = Path(sys.executable).with_name("tsrnn")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tsrnn"]


@dataclass
class ChildRun:
    wall_s: float
    max_rss_bytes: int
    stderr: str


WRAPPER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t0
print(json.dumps({"rc": rc, "wall": wall, "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""
"""Runs one command and reports its wall time and peak RSS. The peak is read in this small process, not in the
benchmark's: a child's ru_maxrss starts from the RSS of the process it was forked from (Linux keeps the
high-water mark across exec), so a child of the benchmark, which holds torch and the training data, would report
at least the benchmark's own size."""


def run_child(cmd: list[str], workdir: Path) -> ChildRun:
    """Run `cmd` as a fresh process under the small wrapper: its wall time from start to exit, its peak RSS
    and its stderr; stdout is discarded."""
    err_path = workdir / "child.stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.run(
            [sys.executable, "-I", "-S", "-c", WRAPPER, *cmd],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            check=False,
        )
    stderr = err_path.read_text(errors="replace")
    report = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {"rc": proc.returncode}
    if proc.returncode or report["rc"]:
        raise RuntimeError(f"{' '.join(cmd)} exited with {report['rc']}:\n{stderr[-2000:]}")
    return ChildRun(report["wall"], report["maxrss_kib"] * 1024, stderr)  # ru_maxrss is in KiB on Linux


@dataclass
class ManySeries:
    series: int
    rows: int
    file_bytes: int
    generate_s: float
    model: str
    train_s: float
    wall_s: float
    ort_ms: float | None
    """ONNX Runtime time inside the forecast, as the CLI reports it on stderr."""
    max_rss_bytes: int
    out_rows: int
    horizon: int
    load: float | None
    smaller: list[tuple[int, int, int, float]]
    """(series, file bytes, peak RSS bytes, wall seconds) of the same forecast over the first quarter and half of
    the series: how memory grows with the file."""

    @property
    def series_per_s(self) -> float:
        return self.series / self.wall_s


def run_many_series(settings: Settings, workdir: Path) -> ManySeries | str:
    """Generate the file, train a small GRU on a slice of it, then time `tsrnn forecast` over all of it;
    a string says why the topic was skipped."""
    if not TOURISM.is_file():
        return f"Skipped: the tourism source file {TOURISM} is missing, so the many-series file cannot be made."
    t0 = time.perf_counter()
    frame = many_series.make(TOURISM, settings.series)
    path = workdir / f"many_{settings.series}.csv"
    frame.write_csv(path)
    generate_s = time.perf_counter() - t0
    length = frame.height // settings.series
    slice_path = workdir / "many_slice.csv"
    frame.head(min(SLICE_SERIES, settings.series) * length).write_csv(slice_path)
    parts = []
    for share in (4, 2):
        n = settings.series // share
        parts.append((n, workdir / f"many_{n}.csv"))
        frame.head(n * length).write_csv(parts[-1][1])
    del frame

    t0 = time.perf_counter()
    data = load_series(slice_path)
    mc = model_config(data, **SMALL_MODEL)
    exp = train_experiment(data, mc, TrainConfig(epochs=1, batch_size=SLICE_BATCH, threads=settings.threads))
    model = exp.export(workdir / "many.onnx").path
    train_s = time.perf_counter() - t0

    out = workdir / "many_forecast.csv"
    monitor = CpuMonitor()
    cmd = [*tsrnn_command(), "forecast", str(model), str(path), "--out", str(out), "--threads", str(settings.threads)]
    child = run_child(cmd, workdir)
    load = monitor.stop()
    match = LATENCY.search(child.stderr)
    with open(out, "rb") as fh:
        out_rows = sum(1 for _ in fh) - 1
    with open(path, "rb") as fh:
        rows = sum(1 for _ in fh) - 1
    smaller = []
    for n, part in parts:
        run = run_child(
            [
                *tsrnn_command(),
                "forecast",
                str(model),
                str(part),
                "--out",
                str(workdir / "part.csv"),
                "--threads",
                str(settings.threads),
            ],
            workdir,
        )
        smaller.append((n, part.stat().st_size, run.max_rss_bytes, run.wall_s))
        part.unlink()
    return ManySeries(
        settings.series,
        rows,
        path.stat().st_size,
        generate_s,
        f"{variant_name(mc)}, input {mc.input_len} -> horizon {mc.horizon}",
        train_s,
        child.wall_s,
        float(match.group(3)) if match else None,
        child.max_rss_bytes,
        out_rows,
        mc.horizon,
        load,
        smaller,
    )


def render_many_series(result: ManySeries | str, settings: Settings) -> list[str]:
    lines = [f"## 4. Many series: `tsrnn forecast` over {settings.series:,} series", ""]
    if isinstance(result, str):
        return [*lines, result]
    r = result
    lines += [
        f"`bench/many_series.py` tiles and perturbs the {TOURISM.name} series into {r.series:,} quarterly series "
        f"({r.rows:,} rows, {r.file_bytes / 2**20:.0f} MiB, written in {r.generate_s:.1f} s). A {r.model} model "
        f"is trained one epoch (batch {SLICE_BATCH}) on the first {min(SLICE_SERIES, r.series):,} series with "
        f"`tsrnn.experiment.pipeline` and exported ({r.train_s:.1f} s, not timed below). Then one fresh process runs "
        f"`tsrnn forecast MODEL FILE --out OUT.csv --threads {settings.threads}`: wall time from start to exit, "
        "peak RSS of that process (`getrusage(RUSAGE_CHILDREN).ru_maxrss`, read in a small wrapper process that "
        "starts it, so that the benchmark's own memory does not count), and the ONNX Runtime time the CLI "
        "reports on stderr. "
        f"Other load during the forecast: {cores(r.load)} cores.",
        "",
    ]
    ort = "?" if r.ort_ms is None else f"{r.ort_ms / 1e3:.2f}"
    ok = "yes" if r.out_rows == r.series * r.horizon else f"no: {r.out_rows:,} rows"
    header = [
        "series/s",
        "wall (s)",
        "of which ONNX Runtime (s)",
        "peak RSS (MiB)",
        "series",
        "file rows",
        "file size (MiB)",
        f"forecast rows = series x {r.horizon}",
    ]
    body = [
        [
            f"{r.series_per_s:,.0f}",
            f"{r.wall_s:.2f}",
            ort,
            f"{r.max_rss_bytes / 2**20:,.0f}",
            f"{r.series:,}",
            f"{r.rows:,}",
            f"{r.file_bytes / 2**20:.0f}",
            ok,
        ]
    ]
    points = [*r.smaller, (r.series, r.file_bytes, r.max_rss_bytes, r.wall_s)]
    (_, f0, m0, _), (_, f1, m1, _) = points[0], points[-1]
    slope = (m1 - m0) / (f1 - f0)
    growth = [[f"{n:,}", f"{f / 2**20:.0f}", f"{m / 2**20:,.0f}", f"{w:.2f}"] for n, f, m, w in points]
    return [
        *lines,
        *table(header, "rrrrrrrl", body),
        "",
        "The same forecast over the first quarter and half of the series, each in a fresh process: peak memory "
        f"grows by {slope:.2f} MiB per MiB of file, on top of {(m0 - slope * f0) / 2**20:,.0f} MiB of "
        "interpreter, libraries and model.",
        "",
        *table(["series", "file (MiB)", "peak RSS (MiB)", "wall (s)"], "rrrr", growth),
    ]


@dataclass
class StartupRow:
    label: str
    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class Startup:
    model: str
    rows: list[StartupRow]
    """The import baseline last."""
    runs: int
    load: float | None

    @property
    def baseline(self) -> float:
        return self.rows[-1].median


def run_startup(settings: Settings, workdir: Path) -> Startup:
    """Process wall times, interleaved round by round after one untimed run of each."""
    data = load_series(demo_path())
    mc = model_config(data, **SMALL_MODEL)
    exp = train_experiment(data, mc, TrainConfig(epochs=1, threads=settings.threads))
    model = str(exp.export(workdir / "demo.onnx").path)
    tsrnn = tsrnn_command()
    commands = {
        "tsrnn forecast MODEL demo": [*tsrnn, "forecast", model, "demo"],
        "tsrnn inspect MODEL": [*tsrnn, "inspect", model],
        "tsrnn --help": [*tsrnn, "--help"],
        'python -c "import onnxruntime, polars"': [sys.executable, "-c", "import onnxruntime, polars"],
    }
    for cmd in commands.values():
        run_child(cmd, workdir)
    times: dict[str, list[float]] = {label: [] for label in commands}
    monitor = CpuMonitor()
    for _ in range(settings.startup_runs):
        for label, cmd in commands.items():
            times[label].append(run_child(cmd, workdir).wall_s)
    load = monitor.stop()
    rows = [StartupRow(label, t) for label, t in times.items()]
    return Startup(
        f"{variant_name(mc)}, input {mc.input_len} -> horizon {mc.horizon}", rows, settings.startup_runs, load
    )


def render_startup(result: Startup) -> list[str]:
    lines = [
        "## 5. Start-up: process wall time",
        "",
        f"A {result.model} model is trained one epoch on the bundled demo file and exported. Each command runs as "
        f"a fresh process, once untimed, then {result.runs} times, the commands interleaved round by round; "
        "median wall time from start to exit (output discarded). The baseline is the imports `tsrnn forecast` "
        f"cannot avoid. Other load during the runs: {cores(result.load)} cores. Target: forecast within "
        f"{STARTUP_TARGET}x of the baseline.",
        "",
    ]
    header = ["command", "× import baseline", "median (ms)", "min – max (ms)"]
    body = [
        [
            f"`{r.label}`",
            f"{r.median / result.baseline:.2f}x",
            f"{r.median * 1e3:.0f}",
            f"{min(r.times) * 1e3:.0f} – {max(r.times) * 1e3:.0f}",
        ]
        for r in result.rows
    ]
    ratio = result.rows[0].median / result.baseline
    verdict = (
        f"Target {'reached' if ratio <= STARTUP_TARGET else 'missed'}: `tsrnn forecast MODEL demo` takes "
        f"{ratio:.2f}x the import baseline (target {STARTUP_TARGET}x)."
    )
    return [*lines, *table(header, "lrrr", body), "", verdict]
