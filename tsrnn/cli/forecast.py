"""The commands that use an exported model and never load torch: forecast (and --follow), serve, inspect and
quantize."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsrnn.core.errors import ConfigError, TsrnnError
from tsrnn.core.extras import require
from tsrnn.core.interrupt import Stopped, exit_code, guarded, parse_timeout
from tsrnn.core.paths import free_path
from tsrnn.data.outputs import Output, check_outputs

if TYPE_CHECKING:
    from tsrnn.runtime.forecastio import ForecastResult
    from tsrnn.runtime.inference import Forecaster

MAX_WARNINGS = 10
"""History warnings printed one per line; --json lists them all."""


def cmd_forecast(args: argparse.Namespace) -> int:
    # Here, not at the top: loads ONNX Runtime and polars, which importing this module does not.
    from tsrnn.runtime.forecastio import forecast_file, forecast_json
    from tsrnn.runtime.inference import Forecaster

    if args.follow is not None:
        return cmd_follow(args)
    if args.data is None:
        raise ConfigError("give the data to forecast (DATA.csv), or --follow FILE|- to forecast rows as they arrive")
    if args.engine == "dask":
        from tsrnn.distributed.engine import run_cli

        return run_cli(args)
    if args.scheduler or args.workers is not None:
        raise ConfigError("--scheduler and --workers are for --engine dask")
    check_outputs(
        forecast_inputs(args), [Output("--out", args.out, example="forecast.csv") if args.out else None]
    )  # before any work: never over the model, the data or the future values
    timeout = parse_timeout(args.timeout)
    try:
        with guarded(timeout) as guard:  # the time limit, SIGTERM and Ctrl+C leave no temporary file
            model = Forecaster.load(args.model, device=args.device, threads=args.threads)
            guard.on_stop(model.stop)
            if model.fallback:
                print(f"note: {model.fallback}", file=sys.stderr)
            result = forecast_file(
                model,
                args.data,
                out=args.out,
                on_progress=None if args.json else _series_progress,
                allow_freq_mismatch=args.allow_freq_mismatch,
                future_csv=args.future_csv,
            )
    except Stopped as stop:
        return _stopped(stop, timeout, "forecast", args.out)
    if args.allow_freq_mismatch and result.history.freq.code != model.meta.freq.code and not args.json:
        print(
            f"warning: the data is {result.history.freq.label} but the model was trained on "
            f"{model.meta.freq.label} data; forecasting anyway (--allow-freq-mismatch)",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(forecast_json(model, result), indent=2))
    else:
        print_forecast(model, result)
    return 0


class _StopFollowError(Exception):
    """SIGTERM while a stream is followed: the normal end of `--follow`."""


def cmd_follow(args: argparse.Namespace) -> int:
    """`tsrnn forecast MODEL --follow [FILE|-]`: forecast lines on stdout until stdin ends or a signal stops it
    (SIGTERM or Ctrl+C: exit 0); malformed lines and the latency summary on stderr."""
    # Here, not at the top: loads ONNX Runtime and polars, which importing this module does not.
    from tsrnn.runtime.follow import FollowStats, follow
    from tsrnn.runtime.inference import Forecaster

    if args.data is not None:
        raise ConfigError(f"give the data once: --follow {args.follow} reads it, so leave out {args.data}")
    given = [o for o, v in (("--out", args.out), ("--json", args.json), ("--future-csv", args.future_csv)) if v]
    if args.engine != "local":
        given.append("--engine dask")
    if given:
        raise ConfigError(f"--follow writes forecast lines on stdout; {', '.join(given)} are for a whole file")
    model = Forecaster.load(args.model, device=args.device, threads=args.threads)
    if model.fallback:
        print(f"note: {model.fallback}", file=sys.stderr)
    stats = FollowStats()

    def stop(signum: int, frame: object) -> None:
        raise _StopFollowError

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        follow(model, args.follow, sys.stdout, args.follow_format, stats=stats)
    except (_StopFollowError, KeyboardInterrupt):
        pass
    except TsrnnError:
        if stats.lines:  # a stream stopped by an error after it began: what it did, then why
            print(stats.summary(), file=sys.stderr)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(stats.summary(), file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """`tsrnn serve MODEL.onnx ...`: until SIGTERM or Ctrl+C (exit 0)."""
    require("uvicorn", "starlette", "prometheus_client")
    # Here, not at the top: loads uvicorn, Starlette, ONNX Runtime and polars, which no other command needs.
    from tsrnn.serve.bodies import Limits
    from tsrnn.serve.server import ServeOptions, serve

    for option, value, least in (
        ("--max-batch", args.max_batch, 1),
        ("--max-body", args.max_body, 1),
        ("--max-series", args.max_series, 1),
        ("--port", args.port, 0),
    ):
        if value < least:
            raise ConfigError(f"{option} must be at least {least}, got {value}")
    if args.max_wait_ms < 0:
        raise ConfigError(f"--max-wait-ms must be 0 or more, got {args.max_wait_ms:g}")
    return serve(
        ServeOptions(
            args.models,
            host=args.host,
            port=args.port,
            device=args.device,
            max_batch=args.max_batch,
            max_wait_ms=args.max_wait_ms,
            token=args.token or os.environ.get("TSRNN_TOKEN") or None,
            limits=Limits(args.max_body, args.max_series),
            access_log=args.access_log,
        )
    )


def forecast_inputs(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """What `tsrnn forecast` reads, for `check_outputs`."""
    return [("the model", args.model), ("the data", args.data), ("--future-csv", getattr(args, "future_csv", None))]


def _stopped(stop: Stopped, timeout: float | None, command: str, out: str | os.PathLike[str] | None) -> int:
    """A run stopped by its time limit (a ConfigError, exit 2) or by a signal (exit 128 + its number)."""
    kept = f"; {out} was not written" if out else ""
    if stop.signum is None:
        raise ConfigError(
            f"the {command} was still running after --timeout {timeout:g}s and was stopped{kept}; give it more "
            "time (--timeout 1h) or none (--timeout none)"
        )
    if stop.signum == signal.SIGINT:
        raise KeyboardInterrupt
    print(f"tsrnn: stopped by {signal.Signals(stop.signum).name}{kept}", file=sys.stderr)
    return exit_code(stop.signum)


def print_forecast(model: Forecaster, result: ForecastResult) -> None:
    """The forecast table on stdout; the warnings, the timing and the output file on stderr."""
    out = result.out
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


def _series_progress(done: int, total: int) -> None:
    if total > 65_536:
        end = "\n" if done == total or not sys.stderr.isatty() else ""
        sys.stderr.write(f"\rforecast {done:,}/{total:,} series{end}")
        sys.stderr.flush()


def _polars_display(rows: int) -> Any:
    # Here, not at the top: loads polars, which `tsrnn --help` and the argument checks do not need.
    import polars as pl

    return pl.Config(tbl_rows=min(rows, 60), tbl_hide_dataframe_shape=True, float_precision=3)


def cmd_inspect(args: argparse.Namespace) -> int:
    # Here, not at the top: loads ONNX Runtime and polars, which importing this module does not.
    from tsrnn.data.seasons import describe_seasons
    from tsrnn.runtime.inference import Forecaster

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
    if meta.season_lags:
        print(
            f"seasons {describe_seasons(meta.seasons, model.freq)}: a seasonal profile mixed by learned weights "
            f"from the values {', '.join(map(str, meta.season_lags))} steps earlier; the network reads the window "
            f"less its profile and corrects the horizon's; the model reads the last {meta.history_len} steps of "
            "history"
        )
    elif meta.seasons:
        print(
            f"seasons {describe_seasons(meta.seasons, model.freq)}: seasonal-naive paths mixed by learned weights, "
            f"the network's output added; the model reads the last {meta.history_len} steps of history"
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
        print("test metrics:")
        from tsrnn.evaluate.metrics import format_table  # loads numpy, which `tsrnn --help` does not need

        print(format_table(scores))
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    require("onnx")
    # Here, not at the top: loads ONNX Runtime and polars, which importing this module does not.
    from tsrnn.export.quantize import drift_json, format_drift, int8_path_for, measure_drift, quantize_model

    src = Path(args.model)
    out = args.out or free_path(int8_path_for(src))  # a file named by tsrnn never replaces one
    check_outputs([("the model", args.model), ("the data", args.data)], [Output("--out", out)])
    if out != int8_path_for(src) and not args.json:
        print(
            f"note: {int8_path_for(src)} exists and is kept; the INT8 copy is {out} (--out names the file)",
            file=sys.stderr,
        )
    try:
        with guarded(None):  # SIGTERM and Ctrl+C leave no temporary file
            drift = measure_drift(src, quantize_model(src, out), args.data)
    except Stopped as stop:
        return _stopped(stop, None, "quantize", out)
    print(drift_json(drift) if args.json else format_drift(drift))
    if drift.worse and not args.json:
        print("tsrnn: warning: INT8 is materially worse on this data", file=sys.stderr)
    return 0
