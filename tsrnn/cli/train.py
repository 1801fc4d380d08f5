"""`tsrnn train`: presets and configs from the options, the time-budget plan, training with a progress bar, the
export and its optional INT8 copy, then the report (tables or one JSON object).

torch is imported only inside the command, through the training modules.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsrnn.cli.options import load_data, model_seasons, seasonal_skip, settle_seasons, train_config
from tsrnn.core.budget import Deadline, format_seconds
from tsrnn.core.config import TrainConfig
from tsrnn.core.extras import require
from tsrnn.core.paths import free_path
from tsrnn.data.outputs import Output, check_outputs

if TYPE_CHECKING:
    from tsrnn.core.config import ModelConfig
    from tsrnn.data.loader import SeriesSet
    from tsrnn.experiment.pipeline import Experiment
    from tsrnn.experiment.season_choice import SeasonChoice
    from tsrnn.export.exporter import ExportResult
    from tsrnn.export.quantize import Drift

PRESETS: dict[str, dict[str, Any]] = {
    "classic-lstm": {"cell": "lstm", "layers": 1, "hidden": 64, "input_len": 10, "horizon": 1, "task": "direction"},
}
TRAIN_DEFAULTS: dict[str, Any] = {"cell": "lstm", "layers": 2, "hidden": 64, "task": "forecast"}


@dataclass
class TrainRun:
    """What one `tsrnn train` run used and produced, for its report."""

    data: SeriesSet
    mc: ModelConfig
    tc: TrainConfig
    exp: Experiment
    export: ExportResult
    drift: Drift | None
    deadline: Deadline
    estimate: str | None
    seconds: float
    season_choice: SeasonChoice | None = None


def cmd_train(args: argparse.Namespace) -> int:
    deadline = Deadline.from_text(args.budget)  # the budget counts from here: loading and export included
    require("torch", "onnx")
    # Here, not at the top: loads ONNX Runtime and polars, which importing this module does not.
    from tsrnn.experiment.pipeline import EXPORT_DIR
    from tsrnn.export.quantize import int8_path_for

    check_outputs(  # before any long work: never over the data, and somewhere writable
        [("the data", args.data)],
        [
            Output("--out", args.out or free_path(EXPORT_DIR / "model.onnx")),  # without --out: exports/ writable
            Output("the INT8 copy of --out", int8_path_for(Path(args.out))) if args.out and args.quantize else None,
        ],
    )
    apply_preset(args)
    data, mc, tc, choice = prepare_training(args, deadline)
    tc, estimate = plan_budget(args, deadline, data, mc, tc)
    t0 = time.perf_counter()
    exp = train_model(args, data, mc, tc)
    export = exp.export(args.out or free_path(exp.default_path()))  # a name tsrnn chose never replaces a file
    if not args.out and export.path != exp.default_path() and not args.json:
        print(
            f"note: {exp.default_path()} exists and is kept; this model is {export.path} (--out PATH names the "
            "file, and replaces it)",
            file=sys.stderr,
        )
    drift = quantize_export(args, export.path)
    run = TrainRun(data, mc, tc, exp, export, drift, deadline, estimate, time.perf_counter() - t0, choice)
    if args.json:
        print(json.dumps(train_json(run), indent=2))
    else:
        print_train_report(run)
    return 0


def apply_preset(args: argparse.Namespace) -> None:
    """Fill the model options left out: from --preset first, then from the train defaults."""
    preset = PRESETS.get(args.preset or "", {})
    for key, default in [*TRAIN_DEFAULTS.items(), ("input_len", None), ("horizon", None)]:
        if getattr(args, key) is None:
            setattr(args, key, preset.get(key, default))


def prepare_training(
    args: argparse.Namespace, deadline: Deadline | None = None
) -> tuple[SeriesSet, ModelConfig, TrainConfig, SeasonChoice]:
    """The data, the model and the training configs, checked against each other and described on stderr; the
    seasons settled (`settle_seasons`: the validation block decides when --seasons is left out)."""
    # Here, not at the top: loads polars and torch, which importing this module does not.
    from tsrnn.experiment.pipeline import model_config, validate

    data = load_data(args)
    mc = model_config(
        data,
        input_len=args.input_len,
        horizon=args.horizon,
        cell=args.cell,
        hidden_size=args.hidden,
        num_layers=args.layers,
        bidirectional=args.bidirectional,
        dropout=args.dropout,
        scaling=args.scaling,
        quantiles=args.quantiles,
        task=args.task,
        highway=args.highway,
        seasonal_skip=seasonal_skip(args, data),
        seasons=model_seasons(args, data),
    )
    tc = train_config(args)
    validate(data, mc)
    mc, choice = settle_seasons(args, data, mc, tc, deadline.remaining() if deadline else None)
    validate(data, mc)  # the seasons the brief trainings chose need a longer history
    if not args.json:
        _describe_data(data, mc)
        if choice.how != "none":
            print(choice.describe(data.freq), file=sys.stderr)
        from tsrnn.model.train import device_fallback

        if note := device_fallback(tc.device):
            print(f"note: {note}", file=sys.stderr)
    return data, mc, tc, choice


def plan_budget(
    args: argparse.Namespace, deadline: Deadline, data: SeriesSet, mc: ModelConfig, tc: TrainConfig
) -> tuple[TrainConfig, str | None]:
    """With a time budget: the training config planned to fit it and the estimate; without one, `tc` as is."""
    if not deadline.limited:
        return tc, None
    # Here, not at the top: loads polars and torch, which importing this module does not.
    from tsrnn.experiment.pipeline import variant_name
    from tsrnn.experiment.plan import plan_training

    plan = plan_training(deadline, data, mc, tc, variant_name(mc))
    plan.overhead_s += 2.0 if args.quantize else 0.0
    estimate = plan.describe(f"training {variant_name(mc)}")
    tc, share = plan.config_for(variant_name(mc))
    if not args.json:
        print(f"estimate: {estimate}; planned: {share.describe()}", file=sys.stderr)
    return tc, estimate


def train_model(args: argparse.Namespace, data: SeriesSet, mc: ModelConfig, tc: TrainConfig) -> Experiment:
    """Train with a progress bar on stderr (none with --json), then say how it stopped and how fast it ran."""
    # Here, not at the top: loads polars, which importing this module does not.
    from tsrnn.experiment.pipeline import gap_note, train_experiment

    progress = None if args.json else ProgressBar()
    exp = train_experiment(data, mc, tc, season=args.season, on_epoch=progress)
    if progress:
        progress.close(exp.result.stopped)
        if note := gap_note(exp.split, data):
            print(f"note: {note}", file=sys.stderr)
        print(
            f"{exp.result.samples_per_s:,.0f} training windows/s on {exp.result.device} "
            f"({exp.result.threads} torch threads{'; ' + exp.result.fast_path if exp.result.fast_path else ''})",
            file=sys.stderr,
        )
    return exp


def quantize_export(args: argparse.Namespace, path: Path) -> Drift | None:
    """With --quantize: the INT8 copy of the exported model and its drift on the test block."""
    if not args.quantize:
        return None
    # Here, not at the top: loads ONNX Runtime and polars, which importing this module does not.
    from tsrnn.export.quantize import int8_path_for, measure_drift, quantize_model

    target = int8_path_for(path) if args.out else free_path(int8_path_for(path))
    return measure_drift(path, quantize_model(path, target), args.data)


def train_json(run: TrainRun) -> dict[str, Any]:
    """The --json report."""
    exp, export, tc, data, deadline = run.exp, run.export, run.tc, run.data, run.deadline
    return {
        "metrics": exp.scores["model"],
        "baselines": {k: v for k, v in exp.scores.items() if k != "model"},
        "export_path": str(export.path),
        "parity_max_abs_error": export.max_abs_error,
        "parity_max_rel_error": export.max_rel_error,
        "epochs_run": exp.result.epochs_run,
        "best_epoch": exp.result.best_epoch,
        "stopped": exp.result.stopped,
        "seconds": round(run.seconds, 3),
        "budget_s": deadline.seconds,
        "elapsed_s": round(deadline.elapsed(), 3),
        "estimate": run.estimate,
        "time_limit_s": tc.time_limit,
        "windows_per_epoch": tc.windows_per_epoch,
        "train_seconds": round(exp.result.seconds, 3),
        "samples_per_s": round(exp.result.samples_per_s, 1),
        "torch_threads": exp.result.threads,
        "device": exp.result.device,
        "device_note": exp.result.device_note,
        "fast_path": exp.result.fast_path,
        "model": run.mc.to_dict(),
        "season_choice": run.season_choice.to_dict() if run.season_choice else None,
        "known_inputs": data.known_spec.columns,
        "left_out_windows": exp.split.left_out,
        "calendar": list(data.known_spec.calendar),
        "holidays": data.known_spec.holidays.spec if data.known_spec.holidays else None,
        "season": exp.season,
        "int8": run.drift.to_dict() if run.drift else None,
    }


def print_train_report(run: TrainRun) -> None:
    """The test block's scores, the exported file, the ONNX parity, the time budget and the INT8 drift."""

    exp, export, mc, deadline = run.exp, run.export, run.mc, run.deadline
    if mc.task == "direction":
        print(f"\nTest block: last {exp.split.test_len} steps of each series, one step ahead: does it rise?")
    else:
        print(f"\nTest block: last {mc.horizon} steps of {run.data.n_series} series; MASE season {exp.season}")
    from tsrnn.evaluate.metrics import format_table  # loads numpy, which `tsrnn --help` does not need

    print(format_table(exp.scores))
    print(f"\nexported {export.path} ({export.size_bytes / 1024:.0f} KiB): {exp.metadata().describe()}")
    print(
        f"ONNX Runtime vs PyTorch, batch {' and '.join(map(str, export.batches))}: "
        f"max abs error {export.max_abs_error:.2e} (relative {export.max_rel_error:.2e})"
    )
    if deadline.limited:
        print(f"time budget {format_seconds(deadline.seconds or 0)}: {deadline.describe()}")
    if run.drift:
        # Here, not at the top: loads ONNX Runtime and polars, which importing this module does not.
        from tsrnn.export.quantize import format_drift

        print(format_drift(run.drift))


def _describe_data(data: Any, mc: Any) -> None:
    start, end = data.span()
    who = f"{data.n_series} series" if data.n_series > 1 else "1 series"
    err = sys.stderr
    print(
        f"{data.path.name}: {who}, {int(data.lengths.sum())} steps, {data.freq.label}, "
        f"{str(start)[:19]} .. {str(end)[:19]}",
        file=err,
    )
    print(
        f"target {', '.join(data.targets)}" + (f"; inputs also {', '.join(data.features)}" if data.features else ""),
        file=err,
    )
    for note in data.report.notes():
        print(f"note: {note}", file=err)
    # Here, not at the top: loads polars, which importing this module does not.
    from tsrnn.experiment.pipeline import variant_name

    print(
        f"model {variant_name(mc)}: input {mc.input_len} steps -> horizon {mc.horizon}, {mc.scaling} scaling", file=err
    )
    print(data.known_spec.describe(), file=err)


class ProgressBar:
    """One updating line on stderr: epoch, losses, time left."""

    def __init__(self, width: int = 24) -> None:
        self.width = width
        self.tty = sys.stderr.isatty()

    def __call__(self, info: Any, suffix: str = "") -> None:
        done = int(self.width * info.epoch / info.epochs)
        bar = "#" * done + "-" * (self.width - done)
        line = (
            f"[{bar}] epoch {info.epoch}/{info.epochs}  train {info.train_loss:.4f}  val {info.val_loss:.4f}"
            f"  best {info.best_val:.4f}  {info.samples_per_s:,.0f} windows/s  {info.elapsed:.0f}s, "
            f"<= {info.eta:.0f}s left{suffix}"
        )
        if self.tty:
            sys.stderr.write("\r" + line + "\x1b[K")
        elif info.epoch == 1 or info.epoch % 10 == 0:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self, stopped: str) -> None:
        words = {
            "finished": "finished",
            "early_stopped": "stopped early (no validation gain), best weights kept",
            "cancelled": "interrupted, best weights kept",
            "budget": "stopped at its time budget, best weights kept",
        }
        if self.tty:
            sys.stderr.write("\n")
        sys.stderr.write(f"training {words.get(stopped, stopped)}\n")
