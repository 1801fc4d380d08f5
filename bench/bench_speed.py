"""Speed benchmark: inference (torch eager, ONNX Runtime float and INT8), roofline, training, many series, start-up,
calendar inputs, and the TUI's first screen.

Run from the repository root: ``.venv/bin/python -m bench.bench_speed`` (``make bench``). Prints one Markdown
report, one table per topic, every figure from this run on this machine, and writes it to ``bench/results.md``.
``--quick`` measures less (about two minutes on 2 cores) and ``--only`` runs some topics; such partial runs write
the report only where ``--out`` says.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import onnxruntime as ort
import torch

from .speed_common import (
    HIDDEN_SIZE,
    HORIZON,
    INPUT_LEN,
    NUM_LAYERS,
    QUIET,
    VARIANTS,
    BenchData,
    CpuMonitor,
    ModelStore,
    Settings,
    cores,
    cpu_model,
    default_threads,
    load_data,
)
from .speed_inference import InferenceRow, Roofline, render_inference, render_roofline, run_inference, run_roofline
from .speed_known import render_known, run_known
from .speed_process import ManySeries, Startup, render_many_series, render_startup, run_many_series, run_startup
from .speed_training import CellRow, TrainingRow, render_cells, render_training, run_cells, run_training
from .speed_tui import TuiStartup, render_tui, run_tui

RESULTS = Path(__file__).with_name("results.md")
TOPICS = ("inference", "roofline", "training", "series", "startup", "known", "tui")


@dataclass
class Results:
    """What one run measured; None for a topic that was not run."""

    inference: list[InferenceRow] | None = None
    roofline: Roofline | None = None
    training: list[TrainingRow] | None = None
    cells: list[CellRow] | None = None
    series: ManySeries | str | None = None
    startup: Startup | None = None
    known: tuple[list[list[str]], float | None] | None = None
    tui: TuiStartup | None = None
    topics: list[str] = field(default_factory=list)


def run(topics: list[str], settings: Settings, data: BenchData | None) -> Results:
    """Run the chosen topics. Training runs first so that the inference topics reuse its models."""
    results = Results(topics=topics)
    start = time.perf_counter()

    def done(topic: str) -> None:
        print(f"{topic}: done after {time.perf_counter() - start:.0f} s", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="tsrnn-bench-") as tmp:
        workdir = Path(tmp)
        if data is not None:
            store = ModelStore(data, settings, workdir)
            if "training" in topics:
                results.training = run_training(store, settings, VARIANTS)
                results.cells = run_cells(store, settings)
                done("training")
            if "inference" in topics:
                results.inference = run_inference(store, settings, VARIANTS)
                done("inference")
            if "roofline" in topics:
                results.roofline = run_roofline(store, settings, VARIANTS, results.inference)
                done("roofline")
        if "series" in topics:
            results.series = run_many_series(settings, workdir)
            done("many series")
        if "startup" in topics:
            results.startup = run_startup(settings, workdir)
            done("start-up")
        if "known" in topics:
            results.known = run_known(3 if settings.quick else 5)
            done("calendar inputs")
        if "tui" in topics:
            results.tui = run_tui(3 if settings.quick else 5)
            done("tui")
    return results


def render(
    results: Results, settings: Settings, data: BenchData | None, seconds: float, background: float | None
) -> str:
    """The whole report: header, then one section per topic that ran, and a warning when the machine was busy."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick run (`--quick`: fewer windows, rounds and series)" if settings.quick else "full run"
    lines = [
        "# tsrnn speed benchmark",
        "",
        f"- Date: {stamp}; {mode}; topics: {', '.join(results.topics)}; whole run {seconds:.0f} s; other "
        f"processes kept {cores(background)} cores busy on average during the run",
        f"- Machine: {default_threads()} cores (nproc), {cpu_model()}, {platform.system()} {platform.machine()}; "
        f"every figure below comes from this one run on this machine, threads = {settings.threads}",
        f"- Versions: Python {platform.python_version()}, torch {torch.__version__}, onnxruntime {ort.__version__}",
    ]
    if data is not None:
        lines += [
            f"- Model (topics 1-3): hidden {HIDDEN_SIZE}, {NUM_LAYERS} layers, input_len {INPUT_LEN}, horizon "
            f"{HORIZON}, 1 input, window scaling inside the model",
            f"- Data (topics 1-3): {data.source}",
        ]
    sections: list[list[str]] = []
    if results.inference is not None:
        sections.append(render_inference(results.inference, settings))
    if results.roofline is not None:
        sections.append(render_roofline(results.roofline, settings))
    if results.training is not None:
        sections.append(render_training(results.training, settings))
    if results.cells is not None:
        sections.append(render_cells(results.cells, settings))
    if results.series is not None:
        sections.append(render_many_series(results.series, settings))
    if results.startup is not None:
        sections.append(render_startup(results.startup))
    if results.known is not None:
        sections.append(render_known(*results.known))
    if results.tui is not None:
        sections.append(render_tui(results.tui))
    for section in sections:
        lines += ["", *section]
    warning = load_warning(results, background)
    if warning:
        lines += ["", warning]
    return "\n".join(lines) + "\n"


def load_warning(results: Results, background: float | None) -> str | None:
    """Say which measurements ran while other processes used more than QUIET cores."""
    busy = []
    for name, loads in (
        ("inference", [r.load for r in results.inference or []]),
        ("training", [r.load for r in results.training or []]),
        ("GRU/RNN training", [r.load for r in results.cells or []]),
    ):
        n = sum((x or 0.0) > QUIET for x in loads)
        if n:
            busy.append(f"{name} ({n} of {len(loads)} rows, up to {max(x or 0.0 for x in loads):.2f} cores)")
    for name, topic in (("roofline", results.roofline), ("many series", results.series), ("start-up", results.startup)):
        if topic is not None and not isinstance(topic, str) and (topic.load or 0.0) > QUIET:
            busy.append(f"{name} ({cores(topic.load)} cores)")
    tui_loads = [f.load for f in (results.tui.files if results.tui is not None else None) or []]
    if any((x or 0.0) > QUIET for x in tui_loads):
        busy.append(f"the TUI start (up to {max(x or 0.0 for x in tui_loads):.2f} cores before its runs)")
    if not busy and (background or 0.0) <= QUIET:
        return None
    where = ", ".join(busy) if busy else "the run"
    return (
        f"**Warning:** other processes used more than {QUIET} cores during {where}. With every core given to "
        "the benchmark, a busy core stalls the multi-threaded kernels (torch far more than ORT), so these "
        "numbers are not reliable: rerun on a quiet machine."
    )


def parse_topics(text: str) -> list[str]:
    chosen = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in chosen if t not in TOPICS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown topic {', '.join(unknown) or repr(text)}: choose from {', '.join(TOPICS)}"
        )
    return [t for t in TOPICS if t in chosen]


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the topics, print the report and write it (to bench/results.md for a full run)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        help=f"Markdown report path (default: {RESULTS} for a full run of "
        "every topic; partial and quick runs only print unless given)",
    )
    parser.add_argument(
        "--threads",
        type=positive,
        default=default_threads(),
        help="torch threads, ORT worker threads and BLAS threads (default: nproc, %(default)s)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer windows, rounds and series (5,000), for a look in about two minutes"
    )
    parser.add_argument(
        "--only",
        type=parse_topics,
        default=list(TOPICS),
        metavar="TOPIC[,TOPIC]",
        help=f"run only these topics: {', '.join(TOPICS)} (default: all)",
    )
    parser.add_argument(
        "--series", type=positive, help="series in the many-series file (default: 100,000; 5,000 with --quick)"
    )
    args = parser.parse_args(argv)
    settings = Settings.make(args.quick, args.threads, args.series)
    topics: list[str] = args.only
    start = time.perf_counter()
    monitor = CpuMonitor()
    data = None
    if {"inference", "roofline", "training"} & set(topics):
        data = load_data(settings.train_windows)
        print(f"data: {data.source}", file=sys.stderr)
    results = run(topics, settings, data)
    report = render(results, settings, data, time.perf_counter() - start, monitor.stop())
    out = args.out or (RESULTS if not settings.quick and topics == list(TOPICS) else None)
    if out is not None:
        out.write_text(report)
        print(f"wrote {out}", file=sys.stderr)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
