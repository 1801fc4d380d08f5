"""`tsrnn compare`: backtest every variant and the baselines on the same rolling origins, then print the
leaderboard with its protocol, or one JSON object; progress goes to stderr."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsrnn.cli.options import (
    auto_seasons,
    load_data,
    model_seasons,
    seasonal_skip,
    seasons_option,
    train_config,
)
from tsrnn.cli.train import ProgressBar
from tsrnn.compare.request import CompareRequest
from tsrnn.core.budget import COMPARE_DEFAULTS, Deadline, format_seconds
from tsrnn.core.extras import require
from tsrnn.core.interrupt import StopSignals
from tsrnn.core.paths import compare_dir, default_folder, kept_words
from tsrnn.data.outputs import Output, check_outputs

if TYPE_CHECKING:
    from tsrnn.compare.run import Leaderboard


def cmd_compare(args: argparse.Namespace) -> int:
    deadline = Deadline.from_text(args.budget)  # the budget counts from here: loading and the export included
    # Here, not at the top: loads ONNX Runtime and polars, which importing this module does not.
    from tsrnn.compare.run import parse_variants, run_compare
    from tsrnn.experiment.pipeline import model_config

    require("torch", "onnx")
    from tsrnn.compare.references import check_available  # loads numpy, which `tsrnn --help` does not need

    check_available(args.reference)  # statsforecast for --reference, before any work
    check_compare_outputs(args.data, args.out_dir)  # before any work
    variants = parse_variants(args.variants, args.layers)
    data = load_data(args)
    out_dir = (
        Path(args.out_dir) if args.out_dir else default_folder(compare_dir(data.path.stem), "--out-dir", args.json)
    )
    if not args.out_dir:  # the default folder is known once the data is; checked before any training
        check_compare_outputs(args.data, out_dir)
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
        seasonal_skip=seasonal_skip(args, data),
        seasons=model_seasons(args, data, spare=args.folds * (args.horizon or data.freq.default_horizon())),
    )
    from tsrnn.data.seasons import describe_seasons
    from tsrnn.experiment.season_choice import beyond

    spare = args.folds * base.horizon
    try_seasons = None  # --seasons given: as asked
    if args.seasons is None and not base.seasonal_skip:
        try_seasons = auto_seasons(args, data, spare)
        if beyond(try_seasons, base.input_len) and not args.json:
            print(
                f"trying the seasons {describe_seasons(try_seasons, data.freq)}: a GRU trained briefly with and "
                "without them on the data before the first origin (--seasons LIST or none decides instead)",
                file=sys.stderr,
            )
    request = CompareRequest(
        data,
        tuple(variants),
        base,
        train_config(args),
        folds=args.folds,
        refit=args.refit,
        season=args.season,
        out_dir=out_dir,
        deadline=deadline,
        best=args.best,
        ensemble=args.ensemble,
        ensemble_method=args.ensemble_method,
        references=args.reference,
        seasons=seasons_option(args),
        try_seasons=try_seasons,
    )
    progress = None if args.json else CompareBar()
    with StopSignals(STOP_NOTICE, linger=True) as stop:
        board = run_compare(request, on_progress=progress, should_stop=stop)
    if args.json:
        print(json.dumps(board.to_dict(), indent=2))
    else:
        print_leaderboard(board)
    if stop.exit_code:
        where = Path(board.files["json"]).parent if board.files.get("json") else "the output folder"
        print(
            f"tsrnn: {board.interrupted or 'interrupted'} ({stop.name}); partial leaderboard in {where}",
            file=sys.stderr,
        )
    return stop.exit_code


STOP_NOTICE = (
    "stopping after the current step: the variants complete so far are ranked and written, marked as partial "
    "(Ctrl+C again stops at once)"
)


COMPARE_WRITES = ("leaderboard.csv", "leaderboard.json", "leaderboard.md", "models/*.onnx")
"""What compare writes or replaces in its folder; the best model beside them takes a free name instead."""


def check_compare_outputs(data: str, out_dir: str | Path | None) -> None:
    """The leaderboard folder must be writable and replace nothing compare reads (`tsrnn.data.outputs`)."""
    if out_dir is not None:
        check_outputs([("the data", data)], [Output("--out-dir", out_dir, folder=True, names=COMPARE_WRITES)])


def print_leaderboard(board: Leaderboard) -> None:
    """The protocol every variant shared, the ranked table, the verdict and where the files went."""
    # Here, not at the top: loads ONNX Runtime and polars, which importing this module does not.
    from tsrnn.compare.run import budget_words, format_text

    p = board.protocol
    print(
        f"\n{p.data}: {p.series} series, {p.frequency}; window {p.input_len} -> horizon "
        f"{p.horizon}, {p.folds} rolling origins; training {p.training}"
    )
    print(
        f"same budget for every variant: at most {p.epochs} epochs, early stopping after {p.patience}, "
        f"hidden {p.hidden_size}, batch {p.batch_size}, lr {p.lr}, seed {p.seed}; {p.calendar}"
    )
    if p.season_choice:
        from tsrnn.data.seasons import choice_words

        print(choice_words(p.season_choice))
    budget = budget_words(p).removeprefix("; ") or "no time budget"
    print(
        f"{budget} (compare's defaults: --budget {COMPARE_DEFAULTS['budget']}, --windows-per-epoch "
        f"{COMPARE_DEFAULTS['windows_per_epoch']}, --patience {COMPARE_DEFAULTS['patience']}; --budget none lifts "
        "the time limit)"
    )
    if p.unscored_fold_windows:
        print(f"{p.unscored_fold_windows} fold windows overlap a long interpolated gap and are not scored")
    if p.skipped:
        print(f"not trained, the time budget was spent: {', '.join(p.skipped)}")
    if board.interrupted:
        print(f"PARTIAL RESULTS, {board.interrupted}")
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
            if p.best_retrained
            else "its backtest model (no time was left to retrain it on all the data)"
        )
        print(f"\nbest: {board.exported}, {what}; exported to {board.best_path}{kept_words(board.best_path)}")
    print(f"leaderboard: {', '.join(board.files.values())}")


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
            head = (
                "[best]"
                if event.final
                else "[references]"
                if event.variant == "references"
                else f"[{event.index + 1}/{event.total}] {event.variant}"
            )
            sys.stderr.write(f"{head}{': ' + event.note if event.note else ''} ({clock})\n")
        else:
            self.bar(event.epoch, f"  total {clock}")
        sys.stderr.flush()
