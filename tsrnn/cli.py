"""The tsrnn command line: train, forecast, inspect, demo-data, tui.

Heavy imports (torch, onnx, textual) happen inside the commands that need them, so `tsrnn forecast`,
`tsrnn inspect` and `tsrnn --help` never load torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from . import __version__
from .budget import COMPARE_DEFAULTS, Deadline, format_seconds
from .config import CELLS, DEFAULT_VARIANTS, DEVICES, LOSSES, SCALINGS, TASKS, DataConfig, TrainConfig
from .errors import TsrnnError
from .extras import needs_extras, require
from .safeio import check_out_dir, check_out_path

PRESETS: dict[str, dict[str, Any]] = {
    "classic-lstm": {"cell": "lstm", "layers": 1, "hidden": 64, "input_len": 10, "horizon": 1, "task": "direction"},
}
TRAIN_DEFAULTS: dict[str, Any] = {"cell": "lstm", "layers": 2, "hidden": 64, "task": "forecast"}

EPILOG_DEFAULTS = """\
defaults when not given:
  --input-len   2 seasons or 2 horizons, whichever is longer (monthly: 24, weekly: 104, 30 min: 96);
                one cycle instead where the series has a longer cycle the calendar does not explain
                (monthly sunspots: 125)
  --horizon     by frequency: 30 min 48, hourly 24, daily 14, business days 10, weekly 13,
                monthly 12, quarterly 8, yearly 5
  --season      by frequency: 30 min 48, hourly 24, daily 7, business days 5, weekly 52,
                monthly 12, quarterly 4, yearly 1
  DATA may be 'demo' for the bundled monthly airline passengers file.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsrnn", description="Forecast time series with recurrent networks, exported to one ONNX file."
    )
    parser.add_argument("--version", action="version", version=f"tsrnn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train a model on a CSV and export it to ONNX",
        epilog=EPILOG_DEFAULTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("data", metavar="DATA.csv", help="CSV file, or 'demo'")
    add_data_options(train)
    m = add_model_options(train)
    m.add_argument("--cell", choices=CELLS, help="recurrent cell (default: lstm)")
    m.add_argument("--bidirectional", action="store_true", help="read each window in both directions")
    m.add_argument("--layers", type=int, help="stacked recurrent layers (default: 2)")
    m.add_argument(
        "--task",
        choices=TASKS,
        help="forecast values (default) or the direction of the next step: "
        "the probability that it rises (binary cross-entropy)",
    )
    m.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="classic-lstm: the textbook Keras LSTM: 64 units, "
        "windows of 10 steps, Dense(1) + sigmoid, binary cross-entropy, accuracy",
    )
    add_training_options(train)
    add_budget_options(train, None, None)
    train.add_argument(
        "--quantize",
        choices=["int8"],
        help="also write an INT8 model beside the float one and report its drift on the test block",
    )
    train.add_argument("--out", help="output .onnx path (default: exports/<data>_<variant>.onnx)")
    train.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    train.set_defaults(func=cmd_train)

    cmp = sub.add_parser(
        "compare",
        help="backtest every RNN variant and the baselines, rank them by MASE",
        epilog=EPILOG_DEFAULTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmp.add_argument("data", metavar="DATA.csv", help="CSV file, or 'demo'")
    add_data_options(cmp)
    m = add_model_options(cmp)
    m.add_argument(
        "--variants",
        default=DEFAULT_VARIANTS,
        help=f"comma-separated [bi]rnn|gru|lstm[-LAYERS] (default: {DEFAULT_VARIANTS})",
    )
    m.add_argument("--layers", type=int, default=1, help="layers of a variant without -N (default: 1)")
    b = cmp.add_argument_group("backtest")
    b.add_argument("--folds", type=int, default=3, help="rolling forecast origins, one horizon apart (default: 3)")
    b.add_argument(
        "--refit", action="store_true", help="retrain at every origin (default: train once before the first origin)"
    )
    b.add_argument("--out-dir", help="where the leaderboard and models go (default: exports/compare_<data>)")
    b.add_argument(
        "--best",
        choices=("auto", "network"),
        default="auto",
        help="what is exported as the best: auto, the row with the lowest MASE, a baseline (seasonal "
        "naive, naive, drift) where one beats every network; network, the best network (default: "
        "auto)",
    )
    add_training_options(cmp)
    add_budget_options(cmp, COMPARE_DEFAULTS["budget"], COMPARE_DEFAULTS["windows_per_epoch"])
    cmp.set_defaults(patience=COMPARE_DEFAULTS["patience"])
    add_ensemble_options(cmp, "variants")
    cmp.add_argument("--json", action="store_true", help="print the leaderboard as JSON")
    cmp.set_defaults(func=cmd_compare)
    build_other_commands(parser, sub)
    from .tune_cli import add_tune_command

    add_tune_command(sub)
    for command in sub.choices.values():  # --debug before or after the command
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
        )
    return parser


def add_model_options(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    m = p.add_argument_group("model")
    m.add_argument("--hidden", type=int, help="units per layer and direction (default: 64)")
    m.add_argument("--dropout", type=float, default=0.0, help="dropout between layers (default: 0)")
    m.add_argument(
        "--highway",
        action="store_true",
        help="add a linear map from each target's window to its horizon beside the network (it can "
        "copy the last season; the network learns what differs)",
    )
    m.add_argument("--input-len", type=int, help="input window length in steps (default: see below)")
    m.add_argument("--horizon", type=int, help="steps forecast at once (default: see below)")
    m.add_argument(
        "--scaling",
        choices=SCALINGS,
        default="window",
        help="window: each input window normalised by its own mean/std (default, suits trends "
        "and many series of different size); global: training-part statistics",
    )
    m.add_argument(
        "--quantiles",
        type=_quantiles,
        default=(),
        metavar="Q,Q,...",
        help="also forecast these quantiles, e.g. 0.1,0.5,0.9 (pinball loss, never crossing)",
    )
    return m


def _quantiles(text: str) -> tuple[float, ...]:
    try:
        return tuple(sorted(float(x) for x in text.split(",") if x.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None


def add_training_options(p: argparse.ArgumentParser) -> None:
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=100, help="maximum epochs (default: 100)")
    t.add_argument("--batch-size", type=int, default=32, help="windows per step (default: 32)")
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: 0.001)")
    t.add_argument(
        "--patience", type=int, default=15, help="early-stopping patience in epochs (default: 15; compare: 10)"
    )
    t.add_argument("--loss", choices=LOSSES, default="mse", help="loss on scaled values (default: mse)")
    t.add_argument("--weight-decay", type=float, default=0.0, help="Adam weight decay (default: 0)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    t.add_argument("--device", choices=DEVICES, default="cpu", help="training device (default: cpu)")
    t.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    t.add_argument("--season", type=int, help="seasonal period for MASE and seasonal naive (default: see below)")


def add_ensemble_options(p: argparse.ArgumentParser, what: str) -> None:
    e = p.add_argument_group("ensemble")
    e.add_argument(
        "--ensemble",
        type=int,
        default=0,
        metavar="K",
        help=f"also rank the mean of the best K {what}' forecasts, scored on the same folds and exported "
        "as one .onnx file (default: 0, none)",
    )
    e.add_argument(
        "--ensemble-method",
        choices=("mean", "median"),
        default="mean",
        help="how the ensemble combines its members' forecasts (default: mean)",
    )


def add_budget_options(p: argparse.ArgumentParser, budget: str | None, windows: int | None) -> None:
    t = p.add_argument_group("time budget")
    t.add_argument(
        "--budget",
        default=budget,
        metavar="DURATION",
        help="time for the whole run, e.g. 90s, 10m, 1h: a short warm-up estimates it first, epochs are "
        "planned to fit and training stops on time with the best weights so far; 'none' for no limit "
        f"(default: {budget or 'none'})",
    )
    t.add_argument(
        "--windows-per-epoch",
        type=_windows,
        default=windows,
        metavar="N",
        help="sample at most N training windows per epoch, a new sample each epoch; 'all' for every "
        f"window (default: {windows or 'all'})",
    )


def _windows(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of windows or 'all'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}': give at least 1 window, or 'all'")
    return value


def build_other_commands(parser: argparse.ArgumentParser, sub: Any) -> argparse.ArgumentParser:
    fc = sub.add_parser("forecast", help="forecast every series of a CSV with an exported model")
    fc.add_argument("model", metavar="MODEL.onnx")
    fc.add_argument(
        "data",
        metavar="DATA.csv",
        help="CSV or Parquet (a file, a folder or a quoted glob such as "
        "'data/*.parquet') with the model's columns, or 'demo'",
    )
    fc.add_argument(
        "--out",
        help="write the forecast to this CSV, or Parquet when it ends in .parquet (with "
        "--engine dask: a folder of Parquet partitions)",
    )
    fc.add_argument("--device", choices=DEVICES, default="cpu", help="ONNX Runtime provider (default: cpu)")
    fc.add_argument(
        "--threads",
        type=int,
        help="CPU cores to use: slices of a large batch run at once, one single-threaded ONNX Runtime "
        "call each (default: all cores)",
    )
    fc.add_argument(
        "--future-csv",
        metavar="FILE",
        help="the horizon's values of the model's future columns, long format: id, time, columns "
        "(default: the rows of DATA.csv after each series' last observed target)",
    )
    fc.add_argument(
        "--allow-freq-mismatch",
        action="store_true",
        help="forecast data whose frequency differs from the model's (refused by default); the dates then "
        "follow the data's grid",
    )
    fc.add_argument("--json", action="store_true", help="print one JSON object")
    d = fc.add_argument_group("distributed (pip install 'tsrnn[dask]'; see docs/distributed.md)")
    d.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: this process (default); dask: a Dask cluster, one partition per Parquet file",
    )
    d.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask: the scheduler of a running cluster, "
        "e.g. tcp://host:8786 (default: start a local cluster)",
    )
    d.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --engine dask and no --scheduler: worker processes of the local cluster (default: one per core)",
    )
    fc.set_defaults(func=cmd_forecast)

    qz = sub.add_parser("quantize", help="write an INT8 dynamically quantized copy of a model")
    qz.add_argument("model", metavar="MODEL.onnx")
    qz.add_argument("data", nargs="?", metavar="DATA.csv", help="measure both models on this CSV's last horizon")
    qz.add_argument("--out", help="INT8 model path (default: MODEL.int8.onnx)")
    qz.add_argument("--json", action="store_true", help="print one JSON object")
    qz.set_defaults(func=cmd_quantize)

    ins = sub.add_parser("inspect", help="show what an exported model holds")
    ins.add_argument("model", metavar="MODEL.onnx")
    ins.add_argument("--json", action="store_true", help="print the metadata as JSON")
    ins.set_defaults(func=cmd_inspect)

    demo = sub.add_parser("demo-data", help="print the path of the bundled demo CSV")
    demo.set_defaults(func=cmd_demo)

    tui = sub.add_parser("tui", help="open the terminal UI")
    tui.add_argument("data", nargs="?", metavar="DATA.csv", help="CSV to open, or 'demo'")
    tui.add_argument("--model", metavar="MODEL.onnx", help="model to open in the Forecast screen")
    tui.set_defaults(func=cmd_tui)
    return parser


def add_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="COL",
        help="column to forecast (repeatable; default: the only numeric column)",
    )
    g.add_argument("--features", nargs="+", default=[], metavar="COL", help="extra numeric input columns, or 'all'")
    g.add_argument("--time-col", metavar="COL", help="time column (default: found by name or by parsing)")
    g.add_argument("--id-col", metavar="COL", help="series id column for long format (default: id, unique_id, series)")
    g.add_argument(
        "--sessions",
        choices=("auto", "none"),
        default="auto",
        help="auto: intraday data observed only while something is open (opening hours, trading "
        "sessions) is kept on its open slots, and forecast from the next opening; none: every step "
        "of the day, closed hours interpolated (default: auto)",
    )
    k = p.add_argument_group("calendar (inputs known in advance, computed from the timestamps)")
    k.add_argument(
        "--calendar",
        default="auto",
        metavar="auto|none|LIST",
        help="cyclic calendar features for the window and the horizon: auto (by frequency: sub-daily "
        "hour,dow; daily dow,doy; weekly woy; monthly month; quarterly quarter; less those whose "
        "whole cycle the input window already shows), none, or a list of hour, dow, "
        "dom, doy, woy, month, quarter (default: auto)",
    )
    k.add_argument(
        "--holidays",
        metavar="CC[:SUB]",
        help="public-holiday flags (holiday, day before, day after) for a country and optional subdivision "
        "(ISO codes: AU:VIC, US, DE:BY); the dates are stored in the model",
    )
    k.add_argument(
        "--future",
        nargs="+",
        default=[],
        metavar="COL",
        help="numeric columns known in advance (a promotion flag, a planned price, a weather forecast): "
        "read for the window and every step of the horizon; at forecast time their horizon values "
        "come from the rows after the last observed target (target empty) or from --future-csv",
    )
    k.add_argument(
        "--tz",
        metavar="ZONE",
        help="read UTC timestamps in this IANA time zone for the calendar (e.g. Australia/Melbourne)",
    )


def train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        seed=args.seed,
        device=args.device,
        loss=args.loss,
        threads=args.threads,
        weight_decay=args.weight_decay,
        windows_per_epoch=getattr(args, "windows_per_epoch", None),
    )


def load_data(args: argparse.Namespace) -> Any:
    """The CSV's series with the known inputs that --calendar, --holidays and --tz ask for."""
    from .data import load_series
    from .known import choose_known
    from .pipeline import default_input_len

    data = load_series(args.data, data_config(args))
    input_len = args.input_len or default_input_len(data, args.horizon)
    return data.with_known(
        choose_known(data.freq, data.times, args.calendar, args.holidays, args.tz, data.future_names, input_len)
    )


def data_config(args: argparse.Namespace) -> DataConfig:
    features: tuple[str, ...] | Literal["all"] = "all" if args.features == ["all"] else tuple(args.features)
    return DataConfig(
        time_col=args.time_col,
        targets=tuple(args.target),
        features=features,
        id_col=args.id_col,
        sessions=args.sessions,
        future=tuple(args.future),
    )


def cmd_train(args: argparse.Namespace) -> int:
    deadline = Deadline.from_text(args.budget)  # the budget counts from here: loading and export included
    from .metrics import format_table
    from .pipeline import gap_note, model_config, train_experiment, validate

    require("torch", "onnx")
    from .pipeline import EXPORT_DIR

    check_out_path(args.out or EXPORT_DIR / "model.onnx")  # before any long work
    preset = PRESETS.get(args.preset or "", {})
    for key, default in [*TRAIN_DEFAULTS.items(), ("input_len", None), ("horizon", None)]:
        if getattr(args, key) is None:
            setattr(args, key, preset.get(key, default))
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
    )
    tc = train_config(args)
    validate(data, mc)
    if not args.json:
        _describe_data(data, mc)
        from .train import device_fallback

        if note := device_fallback(tc.device):
            print(f"note: {note}", file=sys.stderr)
    estimate = None
    if deadline.limited:
        from .pipeline import variant_name
        from .plan import plan_training

        plan = plan_training(deadline, data, mc, tc, variant_name(mc))
        plan.overhead_s += 2.0 if args.quantize else 0.0
        estimate = plan.describe(f"training {variant_name(mc)}")
        tc, share = plan.config_for(variant_name(mc))
        if not args.json:
            print(f"estimate: {estimate}; planned: {share.describe()}", file=sys.stderr)
    progress = None if args.json else ProgressBar()
    t0 = time.perf_counter()
    exp = train_experiment(data, mc, tc, season=args.season, on_epoch=progress)
    if progress:
        progress.close(exp.result.stopped)
        if note := gap_note(exp.split, data):
            print(f"note: {note}", file=sys.stderr)
        print(
            f"{exp.result.samples_per_s:,.0f} training windows/s on {exp.result.device} "
            f"({exp.result.threads} torch threads)",
            file=sys.stderr,
        )
    export = exp.export(args.out)
    drift = None
    if args.quantize:
        from .quantize import measure_drift, quantize_model

        drift = measure_drift(export.path, quantize_model(export.path), args.data)
    seconds = time.perf_counter() - t0
    if args.json:
        print(
            json.dumps(
                {
                    "metrics": exp.scores["model"],
                    "baselines": {k: v for k, v in exp.scores.items() if k != "model"},
                    "export_path": str(export.path),
                    "parity_max_abs_error": export.max_abs_error,
                    "parity_max_rel_error": export.max_rel_error,
                    "epochs_run": exp.result.epochs_run,
                    "best_epoch": exp.result.best_epoch,
                    "stopped": exp.result.stopped,
                    "seconds": round(seconds, 3),
                    "budget_s": deadline.seconds,
                    "elapsed_s": round(deadline.elapsed(), 3),
                    "estimate": estimate,
                    "time_limit_s": tc.time_limit,
                    "windows_per_epoch": tc.windows_per_epoch,
                    "train_seconds": round(exp.result.seconds, 3),
                    "samples_per_s": round(exp.result.samples_per_s, 1),
                    "torch_threads": exp.result.threads,
                    "device": exp.result.device,
                    "device_note": exp.result.device_note,
                    "model": mc.to_dict(),
                    "known_inputs": data.known_spec.columns,
                    "left_out_windows": exp.split.left_out,
                    "calendar": list(data.known_spec.calendar),
                    "holidays": data.known_spec.holidays.spec if data.known_spec.holidays else None,
                    "season": exp.season,
                    "int8": drift.to_dict() if drift else None,
                },
                indent=2,
            )
        )
        return 0
    if mc.task == "direction":
        print(f"\nTest block: last {exp.split.test_len} steps of each series, one step ahead: does it rise?")
    else:
        print(f"\nTest block: last {mc.horizon} steps of {data.n_series} series; MASE season {exp.season}")
    print(format_table(exp.scores))
    print(f"\nexported {export.path} ({export.size_bytes / 1024:.0f} KiB): {exp.metadata().describe()}")
    print(
        f"ONNX Runtime vs PyTorch, batch {' and '.join(map(str, export.batches))}: "
        f"max abs error {export.max_abs_error:.2e} (relative {export.max_rel_error:.2e})"
    )
    if deadline.limited:
        print(f"time budget {format_seconds(deadline.seconds or 0)}: {deadline.describe()}")
    if drift:
        from .quantize import format_drift

        print(format_drift(drift))
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    require("onnx")
    from .quantize import drift_json, format_drift, int8_path_for, measure_drift, quantize_model

    check_out_path(args.out or int8_path_for(Path(args.model)))

    src = Path(args.model)
    drift = measure_drift(src, quantize_model(src, args.out), args.data)
    print(drift_json(drift) if args.json else format_drift(drift))
    if drift.worse and not args.json:
        print("tsrnn: warning: INT8 is materially worse on this data", file=sys.stderr)
    return 0


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
    from .pipeline import variant_name

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


def cmd_compare(args: argparse.Namespace) -> int:
    deadline = Deadline.from_text(args.budget)  # the budget counts from here: loading and the export included
    from .compare import budget_words, format_text, parse_variants, run_compare
    from .pipeline import model_config

    require("torch", "onnx")
    if args.out_dir:
        check_out_dir(args.out_dir)
    variants = parse_variants(args.variants, args.layers)
    data = load_data(args)
    base = model_config(
        data,
        input_len=args.input_len,
        horizon=args.horizon,
        hidden_size=args.hidden or 64,
        num_layers=args.layers,
        dropout=args.dropout,
        scaling=args.scaling,
        quantiles=args.quantiles,
        highway=args.highway,
    )
    tc = train_config(args)
    progress = None if args.json else CompareBar()
    board = run_compare(
        data,
        variants,
        base,
        tc,
        folds=args.folds,
        refit=args.refit,
        season=args.season,
        out_dir=Path(args.out_dir) if args.out_dir else None,
        on_progress=progress,
        deadline=deadline,
        best=args.best,
        ensemble=args.ensemble,
        ensemble_method=args.ensemble_method,
    )
    if args.json:
        print(json.dumps(board.to_dict(), indent=2))
        return 0
    p = board.protocol
    print(
        f"\n{p['data']}: {p['series']} series, {p['frequency']}; window {p['input_len']} -> horizon "
        f"{p['horizon']}, {p['folds']} rolling origins; training {p['training']}"
    )
    print(
        f"same budget for every variant: at most {p['epochs']} epochs, early stopping after {p['patience']}, "
        f"hidden {p['hidden_size']}, batch {p['batch_size']}, lr {p['lr']}, seed {p['seed']}; {p['calendar']}"
    )
    budget = budget_words(p).removeprefix("; ") or "no time budget"
    print(
        f"{budget} (compare's defaults: --budget {COMPARE_DEFAULTS['budget']}, --windows-per-epoch "
        f"{COMPARE_DEFAULTS['windows_per_epoch']}, --patience {COMPARE_DEFAULTS['patience']}; --budget none lifts "
        "the time limit)"
    )
    if p["unscored_fold_windows"]:
        print(f"{p['unscored_fold_windows']} fold windows overlap a long interpolated gap and are not scored")
    if p.get("skipped"):
        print(f"not trained, the time budget was spent: {', '.join(p['skipped'])}")
    print()
    print(format_text(board))
    if board.verdict:
        print("\n" + ("A BASELINE WINS: " if board.baseline_wins else "") + board.verdict)
    if board.best_path:
        row = next(r for r in board.rows if r.name == board.exported)
        what = (
            "a baseline, no network"
            if row.kind == "baseline"
            else "retrained on all the data"
            if p.get("best_retrained", True)
            else "its backtest model (no time was left to retrain it on all the data)"
        )
        print(f"\nbest: {board.exported}, {what}; exported to {board.best_path}")
    print(f"leaderboard: {', '.join(board.files.values())}")
    return 0


class CompareBar:
    """Progress per variant and overall, on stderr."""

    def __init__(self) -> None:
        self.bar = ProgressBar()

    def __call__(self, event: Any) -> None:
        clock = f"{format_seconds(event.elapsed)} elapsed" + (
            "" if event.remaining is None else f", {format_seconds(event.remaining)} left"
        )
        if event.estimate:
            sys.stderr.write(f"estimate: {event.estimate}\n")
        elif event.epoch is None:
            if self.bar.tty and (event.index or event.final):
                sys.stderr.write("\n")
            head = "[best]" if event.final else f"[{event.index + 1}/{event.total}] {event.variant}"
            sys.stderr.write(f"{head}{': ' + event.note if event.note else ''} ({clock})\n")
        else:
            self.bar(event.epoch, f"  total {clock}")
        sys.stderr.flush()


def cmd_forecast(args: argparse.Namespace) -> int:
    from .inference import Forecaster

    if args.engine == "dask":
        from .distributed import run_cli

        return run_cli(args)
    if args.scheduler or args.workers is not None:
        from .errors import ConfigError

        raise ConfigError("--scheduler and --workers are for --engine dask")
    if args.out:
        check_out_path(args.out, example="forecast.csv")
    model = Forecaster.load(args.model, device=args.device, threads=args.threads)
    if model.fallback:
        print(f"note: {model.fallback}", file=sys.stderr)
    result = model.forecast_csv(
        args.data,
        out=args.out,
        on_progress=None if args.json else _series_progress,
        allow_freq_mismatch=args.allow_freq_mismatch,
        future_csv=args.future_csv,
    )
    out = result.out
    if args.allow_freq_mismatch and result.history.freq.code != model.meta.freq.code and not args.json:
        print(
            f"warning: the data is {result.history.freq.label} but the model was trained on "
            f"{model.meta.freq.label} data; forecasting anyway (--allow-freq-mismatch)",
            file=sys.stderr,
        )
    if args.json:
        print(
            json.dumps(
                {
                    "provider": result.provider,
                    "fallback": model.fallback,
                    "warnings": [w.to_dict() for w in result.warnings],
                    "data_frequency": result.history.freq.code,
                    "model_frequency": model.meta.freq.code,
                    "latency_ms": round(result.latency_ms, 3),
                    "n_series": result.n_series,
                    "horizon": model.horizon,
                    "out": str(out) if out else None,
                    "forecast": result.table.to_dicts(),
                },
                indent=2,
            )
        )
        return 0
    with _polars_display(len(result.table)):
        print(result.table)
    for w in result.warnings[:MAX_WARNINGS]:
        print(f"warning: {w.message}", file=sys.stderr)
    if len(result.warnings) > MAX_WARNINGS:
        print(
            f"warning: ... and {len(result.warnings) - MAX_WARNINGS} more series (every one is listed by --json)",
            file=sys.stderr,
        )
    shown = (
        ""
        if not out or result.table.height == result.n_series * model.horizon
        else f" (the first batch is shown; every row is in {out})"
    )
    print(
        f"{result.n_series} series x {model.horizon} steps in {result.latency_ms:.2f} ms on {result.provider}{shown}",
        file=sys.stderr,
    )
    if out:
        print(f"wrote {out}", file=sys.stderr)
    return 0


MAX_WARNINGS = 10
"""History warnings printed one per line; --json lists them all."""


def _series_progress(done: int, total: int) -> None:
    if total > 65_536:
        end = "\n" if done == total or not sys.stderr.isatty() else ""
        sys.stderr.write(f"\rforecast {done:,}/{total:,} series{end}")
        sys.stderr.flush()


def _polars_display(rows: int) -> Any:
    import polars as pl

    return pl.Config(tbl_rows=min(rows, 60), tbl_hide_dataframe_shape=True, float_precision=3)


def cmd_inspect(args: argparse.Namespace) -> int:
    from .inference import Forecaster

    model = Forecaster.load(args.model)
    meta = model.meta
    if args.json:
        print(json.dumps(meta.to_dict(), indent=2))
        return 0
    inputs = model.session.get_inputs()
    outputs = model.session.get_outputs()[0]
    if meta.is_network:
        print(f"{model.path.name}: {meta.describe()}, {meta.scaling} scaling")
    else:
        print(f"{model.path.name}: {meta.describe()}")
    print(f"input  {inputs[0].name} {inputs[0].shape} float32 raw units: {', '.join(meta.inputs)}")
    for extra in inputs[1:]:
        print(f"input  {extra.name} {extra.shape} float32, window and horizon: {', '.join(meta.known)}")
    print(model.known_spec.describe())
    print(f"output {outputs.name} {outputs.shape} float32 raw units: {', '.join(meta.targets)}")
    print(
        f"window {meta.input_len} -> horizon {meta.horizon}, frequency {meta.freq.label}, "
        f"season {meta.season}, time column '{meta.time_col}'" + (f", id column '{meta.id_col}'" if meta.id_col else "")
    )
    if meta.is_network:
        print(
            f"trained on {meta.train_file} ({meta.n_series} series), seed {meta.seed}, "
            f"{meta.epochs_run} epochs ({meta.stopped}), created {meta.created}, "
            f"tsrnn {meta.tsrnn_version or '?'}, metadata schema {meta.schema_version}"
        )
    else:
        won = " (it beat every network on the backtest)" if meta.backtest else ""
        print(
            f"nothing trained: chosen by tsrnn compare on {meta.train_file} ({meta.n_series} series){won}, "
            f"created {meta.created}, tsrnn {meta.tsrnn_version or '?'}, metadata schema {meta.schema_version}"
        )
    scores = meta.test_metrics
    if scores:
        from .metrics import format_table

        print("test metrics:")
        print(format_table(scores))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .data import demo_path

    print(demo_path())
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    require("textual", "textual_plotext")
    from tui.app import run_tui

    data = None
    if args.data:
        from .data import resolve_demo

        data = str(resolve_demo(args.data))
    run_tui(data, args.model)
    return 0


POLARS_ALLOCATOR = "dirty_decay_ms:0,muzzy_decay_ms:0"
"""polars' jemalloc returns freed pages to the system at once instead of keeping them for a while: forecasting
a 188 MiB long CSV then peaks at about 560 MiB instead of 820–960 MiB, at the same speed."""
POLARS_OWN = "dirty_decay_ms:500,muzzy_decay_ms:1000"
"""What polars puts first in _RJEM_MALLOC_CONF when it loads; a child of a process that loaded polars inherits it."""


def lean_allocator() -> None:
    """Set POLARS_ALLOCATOR for polars, which reads it when it loads (later), unless the decay settings in
    _RJEM_MALLOC_CONF are the user's own; the last setting wins."""
    conf = os.environ.get("_RJEM_MALLOC_CONF", "")
    if "decay_ms" not in conf.removeprefix(POLARS_OWN):
        os.environ["_RJEM_MALLOC_CONF"] = ",".join(x for x in (conf, POLARS_ALLOCATOR) if x)


ISSUES_URL = "https://github.com/tsrnn/tsrnn/issues"
BUG_EXIT = 70
"""Exit code of an unexpected error (a bug): sysexits' EX_SOFTWARE, distinct from 1 (training or export failed)
and 2 (bad input or setting)."""


def main(argv: Sequence[str] | None = None) -> int:
    lean_allocator()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with needs_extras(f"tsrnn {args.command}"):
            return int(args.func(args))
    except TsrnnError as exc:
        if args.debug:
            raise
        print(f"tsrnn: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tsrnn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`tsrnn forecast ... | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if args.debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        print(
            f"tsrnn: internal error: {type(exc).__name__}{': ' + first if first else ''}. This is a bug in tsrnn, "
            f"not in your input: please report it at {ISSUES_URL} with the command you ran; add --debug to see "
            "the traceback",
            file=sys.stderr,
        )
        return BUG_EXIT


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
