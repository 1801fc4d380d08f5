"""The command line's parser: the top-level options and each command's arguments, help texts and defaults.

`tsrnn.cli.commands.build_parser` passes each command's handler in, so this module imports no command code.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from typing import Any

from tsrnn import __version__
from tsrnn.cli.options import (
    EPILOG_DEFAULTS,
    add_budget_options,
    add_data_options,
    add_ensemble_options,
    add_model_options,
    add_training_options,
)
from tsrnn.cli.train import PRESETS
from tsrnn.core.budget import COMPARE_DEFAULTS
from tsrnn.core.config import CELLS, DEFAULT_VARIANTS, DEVICES, TASKS
from tsrnn.core.errors import ConfigError
from tsrnn.core.interrupt import DEFAULT_TIMEOUT

Handler = Callable[[argparse.Namespace], int]
"""A command: the parsed arguments in, the exit code out."""


class ExactParser(argparse.ArgumentParser):
    """Options only by their full names: `tsrnn compare --out best.onnx` is refused as unknown rather than taken for
    `--out-dir` (argparse's default accepts any unambiguous prefix). Subcommand parsers are of the same class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


class VersionAction(argparse.Action):
    """--version: the version, and which loops a GRU trains with here (torch is imported only for this line)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        kwargs["help"] = "show the version and the GRU training loops in use, then exit"
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        if importlib.util.find_spec("torch") is None:
            loops = 'GRU training: not installed (pip install "tsrnn[train]")'
        else:
            # Here, not at the top: loads torch, which importing this module does not.
            from tsrnn.model.fast.kernel import summary

            loops = summary()
        print(f"tsrnn {__version__}\n{loops}")
        parser.exit()


def new_parser() -> tuple[argparse.ArgumentParser, Any]:
    """The top-level parser (--version, --debug) and the subparsers that the commands join."""
    parser = ExactParser(
        prog="tsrnn", description="Forecast time series with recurrent networks, exported to one ONNX file."
    )
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    return parser, sub


def add_train_command(sub: Any, func: Handler) -> None:
    """`tsrnn train DATA.csv`: one model, trained and exported."""
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
    train.set_defaults(func=func)


def add_compare_command(sub: Any, func: Handler) -> None:
    """`tsrnn compare DATA.csv`: every variant and the baselines on the same backtest."""
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
    b.add_argument(
        "--reference",
        type=_references,
        default=(),
        metavar="mstl,ets",
        help="add statistical references scored on the same folds, shown for scale, never the winner or exported: "
        "mstl (MSTL with every season of the data), ets (AutoETS with the main season); needs "
        "pip install 'tsrnn[stats]' (default: none)",
    )
    add_training_options(cmp)
    add_budget_options(cmp, COMPARE_DEFAULTS["budget"], COMPARE_DEFAULTS["windows_per_epoch"])
    cmp.set_defaults(patience=COMPARE_DEFAULTS["patience"])
    add_ensemble_options(cmp, "variants")
    cmp.add_argument("--json", action="store_true", help="print the leaderboard as JSON")
    cmp.set_defaults(func=func)


def _references(text: str) -> tuple[str, ...]:
    """--reference mstl,ets | none, refused by argparse (usage and exit 2) when a name is unknown."""

    try:
        from tsrnn.compare.references import parse_references  # loads numpy, which `tsrnn --help` does not need

        return parse_references(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.message.removeprefix("unknown --reference ")) from None


def add_forecast_command(sub: Any, func: Handler) -> None:
    """`tsrnn forecast MODEL.onnx DATA.csv`, locally or on a Dask cluster."""
    fc = sub.add_parser("forecast", help="forecast every series of a CSV with an exported model")
    fc.add_argument("model", metavar="MODEL.onnx")
    fc.add_argument(
        "data",
        nargs="?",
        metavar="DATA.csv",
        help="CSV or Parquet (a file, a folder or a quoted glob such as "
        "'data/*.parquet') with the model's columns, or 'demo'",
    )
    fc.add_argument(
        "--follow",
        nargs="?",
        const="-",
        metavar="FILE|-",
        help="stream: read rows as they arrive (appended to a CSV, or CSV or JSON lines on stdin: -, the default), "
        "and write one forecast line per series each time its next step is complete (see docs/serve.md)",
    )
    fc.add_argument(
        "--follow-format",
        choices=("jsonl", "csv"),
        default="jsonl",
        help="with --follow: JSON lines (default) or CSV rows",
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
    fc.add_argument(
        "--timeout",
        metavar="SECONDS",
        default=f"{DEFAULT_TIMEOUT:g}",
        help="stop a forecast still running after this long, writing nothing (seconds, or 90s, 10m, 1h; "
        f"0 or none: no limit; default: {DEFAULT_TIMEOUT:g})",
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
    fc.set_defaults(func=func)


def add_serve_command(sub: Any, func: Handler) -> None:
    """`tsrnn serve MODEL.onnx [MORE.onnx ...]`: forecasts over HTTP with dynamic batching."""
    sv = sub.add_parser(
        "serve",
        help="serve models over HTTP, merging concurrent requests into one call (pip install 'tsrnn[serve]')",
        description="Forecasts over HTTP: POST /v1/models/NAME/forecast, GET /v1/models, /healthz, /metrics, "
        "POST /v1/models/NAME/reload (or SIGHUP). See docs/serve.md.",
    )
    sv.add_argument("models", nargs="+", metavar="MODEL.onnx", help="models to serve, each under its file's stem")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    sv.add_argument("--device", choices=DEVICES, default="cpu", help="ONNX Runtime provider (default: cpu)")
    sv.add_argument(
        "--max-batch",
        type=int,
        default=256,
        metavar="N",
        help="series (windows) merged into one forecast and ONNX Runtime call at most (default: 256; 1: every "
        "request alone)",
    )
    sv.add_argument(
        "--max-wait-ms",
        type=float,
        default=2.0,
        metavar="MS",
        help="how long a call waits for requests still being read (default: 2; a lone client never waits)",
    )
    sv.add_argument(
        "--token",
        help="require 'Authorization: Bearer TOKEN' on every route but /healthz (default: $TSRNN_TOKEN; "
        "prefer the variable, a command line is visible to other users)",
    )
    sv.add_argument(
        "--max-body", type=int, default=16 << 20, metavar="BYTES", help="largest request body (default: 16 MiB)"
    )
    sv.add_argument(
        "--max-series", type=int, default=10_000, metavar="N", help="most series in one request (default: 10000)"
    )
    sv.add_argument("--access-log", action="store_true", help="log every request (default: errors only)")
    sv.set_defaults(func=func)


def add_model_commands(sub: Any, quantize: Handler, inspect: Handler) -> None:
    """The other commands that read an exported model: quantize and inspect."""
    qz = sub.add_parser("quantize", help="write an INT8 dynamically quantized copy of a model")
    qz.add_argument("model", metavar="MODEL.onnx")
    qz.add_argument("data", nargs="?", metavar="DATA.csv", help="measure both models on this CSV's last horizon")
    qz.add_argument("--out", help="INT8 model path (default: MODEL.int8.onnx)")
    qz.add_argument("--json", action="store_true", help="print one JSON object")
    qz.set_defaults(func=quantize)

    ins = sub.add_parser("inspect", help="show what an exported model holds")
    ins.add_argument("model", metavar="MODEL.onnx")
    ins.add_argument("--json", action="store_true", help="print the metadata as JSON")
    ins.set_defaults(func=inspect)


def add_app_commands(sub: Any, demo_data: Handler, open_tui: Handler) -> None:
    """demo-data and tui."""
    demo = sub.add_parser("demo-data", help="print the path of the bundled demo CSV")
    demo.set_defaults(func=demo_data)

    tui = sub.add_parser("tui", help="open the terminal UI")
    tui.add_argument("data", nargs="?", metavar="DATA.csv", help="CSV to open, or 'demo'")
    tui.add_argument("--model", metavar="MODEL.onnx", help="model to open in the Forecast screen")
    tui.set_defaults(func=open_tui)


def add_debug_flags(sub: Any) -> None:
    """--debug also after the command, not only before it."""
    for command in sub.choices.values():
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
        )
