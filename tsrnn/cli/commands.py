"""The tsrnn command line: the entry point, the parser's assembly and the error handling every command shares.

The commands live beside it: `cli_train` (train), `cli_compare` (compare), `cli_forecast` (forecast, inspect,
quantize), `tune_cli` (tune); demo-data and tui are here. Heavy imports (torch, onnx, textual) happen inside the
commands that need them, so `tsrnn forecast`, `tsrnn inspect` and `tsrnn --help` never load torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tsrnn.cli.compare import cmd_compare
from tsrnn.cli.forecast import cmd_forecast, cmd_inspect, cmd_quantize, cmd_serve
from tsrnn.cli.parser import (
    add_app_commands,
    add_compare_command,
    add_debug_flags,
    add_forecast_command,
    add_model_commands,
    add_serve_command,
    add_train_command,
    new_parser,
)
from tsrnn.cli.train import cmd_train
from tsrnn.cli.tune import add_tune_command
from tsrnn.core.errors import TsrnnError
from tsrnn.core.extras import needs_extras, require
from tsrnn.core.interrupt import exit_now


def build_parser() -> argparse.ArgumentParser:
    """Every command with its handler, in the order `tsrnn --help` lists them."""
    parser, sub = new_parser()
    add_train_command(sub, cmd_train)
    add_compare_command(sub, cmd_compare)
    add_forecast_command(sub, cmd_forecast)
    add_model_commands(sub, quantize=cmd_quantize, inspect=cmd_inspect)
    add_serve_command(sub, cmd_serve)
    add_app_commands(sub, demo_data=cmd_demo, open_tui=cmd_tui)

    add_tune_command(sub)
    add_debug_flags(sub)
    return parser


def cmd_demo(args: argparse.Namespace) -> int:
    # Here, not at the top: loads polars, which importing this module does not.
    from tsrnn.data.loader import demo_path

    print(demo_path())
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    require("textual", "textual_plotext")
    # Here, not at the top: loads Textual and polars, which no other command needs.
    from tui.app import run_tui

    data = None
    if args.data:
        # Here, not at the top: loads polars, which importing this module does not.
        from tsrnn.data.loader import resolve_demo

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
    except KeyboardInterrupt as exc:  # a second Ctrl+C during compare or tune (tsrnn.core.interrupt.StopNow) too
        print(f"tsrnn: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 130))
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
    code = main()
    if code in (130, 143):  # a stop signal ended the run and what it keeps is written
        exit_now(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
