"""`tsrnn tune`: the command line of `tsrnn.tune.run` (its parser, its progress lines and its report)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsrnn.cli.options import _quantiles, _seasons_arg, _windows, add_data_options, add_ensemble_options, load_data
from tsrnn.core.budget import COMPARE_DEFAULTS, Deadline, format_seconds
from tsrnn.core.config import DEVICES, SCALINGS, TrainConfig
from tsrnn.core.extras import require
from tsrnn.core.interrupt import StopSignals
from tsrnn.core.paths import default_folder, tune_dir
from tsrnn.data.outputs import Output, check_outputs
from tsrnn.tune.request import TuneRequest

if TYPE_CHECKING:
    from tsrnn.data.seriesset import SeriesSet

TUNE_EPILOG = """\
search space: cell and direction (--variants, default rnn,gru,lstm,birnn,bigru,bilstm), layers 1-3, hidden
  16/32/64/128, input window (1-4 horizons, 1-3 seasons, the default window: those the data can serve), learning
  rate 1e-4..1e-2 (log), dropout 0..0.3 (with 2+ layers), weight decay off or 1e-6..1e-3 (log), loss mse/mae/huber.
every trial is scored by MASE on compare's rolling origins (trained once on the data before the first origin).
writes trials.csv/.json/.md, best_command.txt (a `tsrnn train` command line for the best trial), best.onnx and,
with --ensemble K, ensemble.onnx (the best K trials in one file) to --out (default: exports/tune_<data>).
  DATA may be 'demo' for the bundled monthly airline passengers file.
"""


def add_tune_command(sub: Any) -> None:
    p = sub.add_parser(
        "tune",
        help="search cells, sizes, windows and training settings with Optuna, in a budget",
        epilog=TUNE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA.csv", help="CSV file, or 'demo'")
    add_data_options(p)
    s = p.add_argument_group("search")
    s.add_argument(
        "--budget",
        metavar="DURATION",
        help="time for the whole run, e.g. 90s, 20m, 1h: the first trial "
        "gives an estimate, a trial starts only while it can do useful work, the running one stops on time "
        "(default: none)",
    )
    s.add_argument(
        "--trials", type=int, help="most trials to run (default: 20 without --budget, else until the budget ends)"
    )
    s.add_argument(
        "--variants", help="restrict the cells and directions searched, e.g. gru,bilstm (layers are searched for each)"
    )
    s.add_argument("--folds", type=int, default=3, help="rolling forecast origins, one horizon apart (default: 3)")
    s.add_argument("--out", help="folder for the tables and models (default: exports/tune_<data>)")
    m = p.add_argument_group("model (fixed for every trial)")
    m.add_argument("--horizon", type=int, help="steps forecast at once (default: by frequency)")
    m.add_argument("--input-len", type=int, help="fix the input window instead of searching it")
    m.add_argument(
        "--seasons",
        type=_seasons_arg,
        default=None,
        metavar="auto|none|LIST",
        help="seasons whose seasonal profile the search tries on and off (see tsrnn train --help): auto, the "
        "data's seasons (sub-daily a day and a week, ...) that it shows; a list such as 48,336; none: not "
        "searched (default: auto)",
    )
    m.add_argument("--scaling", choices=SCALINGS, default="window", help="input scaling (default: window)")
    m.add_argument(
        "--quantiles",
        type=_quantiles,
        default=(),
        metavar="Q,Q,...",
        help="also forecast these quantiles, e.g. 0.1,0.5,0.9",
    )
    t = p.add_argument_group("training (each trial)")
    t.add_argument("--epochs", type=int, default=100, help="maximum epochs per trial (default: 100)")
    t.add_argument("--patience", type=int, default=15, help="early-stopping patience (default: 15)")
    t.add_argument("--batch-size", type=int, default=32, help="windows per step (default: 32)")
    t.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the sampler and every training: the same seed repeats the same trials (default: 0)",
    )
    t.add_argument("--device", choices=DEVICES, default="cpu", help="training device (default: cpu)")
    t.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    t.add_argument("--season", type=int, help="seasonal period for MASE (default: by frequency)")
    windows = COMPARE_DEFAULTS["windows_per_epoch"]
    t.add_argument(
        "--windows-per-epoch",
        type=_windows,
        default=windows,
        metavar="N",
        help=f"sample at most N training windows per epoch, as compare does; 'all' for every window "
        f"(default: {windows})",
    )
    add_ensemble_options(p, "trials")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_tune)


def cmd_tune(args: argparse.Namespace) -> int:
    deadline = Deadline.from_text(args.budget)  # the budget counts from here: loading the data is part of it
    require("torch", "onnx", "optuna")
    # Here, not at the top: loads polars, which importing this module does not.
    from tsrnn.experiment.pipeline import model_config
    from tsrnn.tune.run import run_tune

    check_tune_outputs(args.data, args.out)  # before any work
    data = load_data(args)
    out_dir = Path(args.out) if args.out else default_folder(tune_dir(data.path.stem), "--out", args.json)
    if not args.out:  # the default folder is known once the data is; checked before any search
        check_tune_outputs(args.data, out_dir)
    base = model_config(
        data,
        input_len=args.input_len,
        horizon=args.horizon,
        num_layers=1,
        scaling=args.scaling,
        quantiles=args.quantiles,
    )
    tc = TrainConfig(
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        windows_per_epoch=args.windows_per_epoch,
    )
    request = TuneRequest(
        data,
        base,
        tc,
        trials=args.trials,
        budget=deadline,
        variants=args.variants,
        folds=args.folds,
        ensemble=args.ensemble,
        ensemble_method=args.ensemble_method,
        season=args.season,
        out_dir=out_dir,
        data_arg=args.data,
        input_len=args.input_len,
        seasons=_searched_seasons(args, data),
    )
    progress = None if args.json else TuneLines(args.trials)

    with StopSignals(STOP_NOTICE, linger=True) as stop:
        result = run_tune(request, on_progress=progress, should_stop=stop)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        report(result)
    if stop.exit_code:
        where = Path(result.files["md"]).parent if result.files.get("md") else "the output folder"
        print(f"tsrnn: {result.interrupted or 'interrupted'} ({stop.name}); partial tables in {where}", file=sys.stderr)
    return stop.exit_code


STOP_NOTICE = (
    "stopping after the current step: the trials complete so far are written, marked as partial, and the best "
    "of them exported (Ctrl+C again stops at once)"
)


TUNE_WRITES = ("trials.csv", "trials.json", "trials.md", "best_command.txt", "best.onnx", "ensemble.onnx")
"""What tune writes or replaces in its folder."""


def check_tune_outputs(data: str, out_dir: str | Path | None) -> None:
    """The tune folder must be writable and replace nothing tune reads (`tsrnn.data.outputs`)."""

    if out_dir is not None:
        check_outputs([("the data", data)], [Output("--out", out_dir, folder=True, names=TUNE_WRITES)])


def report(result: Any) -> None:
    # Here, not at the top: loads polars, which importing this module does not.
    from tsrnn.tune.run import format_text

    p = result.protocol
    print(
        f"\n{p.data}: {p.series} series, {p.frequency}; horizon {p.horizon}, {p.folds} rolling "
        f"origins; {len(result.trials)} trials in {format_seconds(result.seconds)} ({result.state_words()})"
    )
    print()
    print(format_text(result))
    base = ", ".join(f"{k.replace('_', ' ')} {v['mase']:.3f}" for k, v in result.baselines.items())
    print(f"\nbaselines on the same folds (MASE): {base}")
    if result.best is None:
        print("no trial completed: give more time (--budget) or fewer epochs")
    else:
        b = result.best
        print(f"best: trial {b.number}, {b.describe()}: MASE {b.mase:.3f}; its backtest model: {result.best_path}")
        beaten = {k: v["mase"] for k, v in result.baselines.items() if v["mase"] <= b.mase}
        if beaten:
            name, mase = min(beaten.items(), key=lambda kv: kv[1])
            print(
                f"{name.replace('_', ' ')} beats every trial (MASE {mase:.3f} against {b.mase:.3f}): keep the "
                f"baseline (tsrnn compare exports it as an ONNX model), or tune longer (--budget)"
            )
        print(f"train it on all the data:\n  {result.command}")
    e = result.ensemble
    if e and e.get("path"):
        trials = ", ".join(map(str, e["members"]))
        print(f"ensemble ({e['method']} of trials {trials}): MASE {e['metrics']['mase']:.3f}, one file: {e['path']}")
    elif e:
        print(f"ensemble {e['note']}")
    print(f"tables: {', '.join(v for k, v in result.files.items() if k in ('csv', 'json', 'md'))}")


class TuneLines:
    """One line when a trial ends (and the estimate after the first); a live epoch line on a terminal."""

    def __init__(self, trials: int | None) -> None:
        self.trials = trials
        self.tty = sys.stderr.isatty()
        self.best: Any = None
        self.estimated = False

    def __call__(self, event: Any) -> None:
        t = event.trial
        of = f"/{event.total}" if event.total else ""
        if event.epoch is not None:
            if self.tty:
                e = event.epoch
                sys.stderr.write(
                    f"\r[trial {t.number}{of}] epoch {e.epoch}/{e.epochs}  val {e.val_loss:.4f}  "
                    f"best {e.best_val:.4f}\x1b[K"
                )
                sys.stderr.flush()
            return
        if t.state == "running":
            sys.stderr.write(f"[trial {t.number}{of}] {t.describe()}\n")
            sys.stderr.flush()
            return
        if t.state == "complete" and (self.best is None or t.mase < self.best.mase):
            self.best = t
        score = f"MASE {t.mase:.3f}" if t.state == "complete" else t.state
        best = f" (best {self.best.mase:.3f}, trial {self.best.number})" if self.best is not None else ""
        left = "" if event.remaining == float("inf") else f", {format_seconds(event.remaining)} left"
        note = f"; {t.note}" if t.note and t.state != "pruned" else ""
        if self.tty:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.write(
            f"  {score}{best} in {format_seconds(t.seconds)}, {t.epochs} epochs{note}; "
            f"{format_seconds(event.elapsed)} elapsed{left}\n"
        )
        if event.estimate and not self.estimated:
            self.estimated = True
            sys.stderr.write(f"  estimate: {event.estimate}\n")
        sys.stderr.flush()


def _searched_seasons(args: argparse.Namespace, data: SeriesSet) -> tuple[int, ...]:
    """--seasons for the search: a list or none as given; auto or left out: the data's seasons longer than the
    shortest window searched (`season_choice.auto_candidates`, with the folds kept back)."""
    if args.seasons not in (None, "auto"):
        return tuple(args.seasons)
    from tsrnn.experiment.season_choice import auto_candidates, beyond

    horizon = args.horizon or data.freq.default_horizon()
    found = auto_candidates(data, args.input_len or horizon, horizon, args.folds * horizon)
    return found if beyond(found, args.input_len or horizon) else ()
