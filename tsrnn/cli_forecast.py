"""The commands that use an exported model and never load torch: forecast, inspect and quantize."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .extras import require
from .safeio import check_out_path

if TYPE_CHECKING:
    from .inference import Forecaster, ForecastResult

MAX_WARNINGS = 10
"""History warnings printed one per line; --json lists them all."""


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


def forecast_json(model: Forecaster, result: ForecastResult) -> dict[str, Any]:
    """The --json report: the forecast rows with the provider, the warnings and the frequencies."""
    out = result.out
    return {
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
    }


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
