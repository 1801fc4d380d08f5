"""A Dask DataFrame in, a Dask DataFrame out: the forecast of every series of a Dask DataFrame in the model's long
layout, lazily, one output partition per input partition, each forecast on a worker by the model it loads once."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from tsrnn.core.errors import ConfigError, DataError
from tsrnn.core.extras import needs_extras, require
from tsrnn.distributed.worker import Options, PartResult, forecast_partition, worker_model
from tsrnn.runtime.inference import Forecaster

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

log = logging.getLogger("tsrnn.distributed")


def forecast(
    ddf: dd.DataFrame,
    model_path: str | Path,
    *,
    shuffle: bool = False,
    errors: Literal["raise", "skip"] = "raise",
    allow_freq_mismatch: bool = False,
    device: str = "cpu",
    threads: int = 1,
) -> dd.DataFrame:
    """The forecast of every series of a Dask DataFrame in the model's long layout (id, time, inputs, future
    columns), lazily, as a Dask DataFrame with one partition per input partition: [id,] time (datetime), one
    column per output. Each series must be whole in one partition (data sorted by id and partitioned on it, or
    `shuffle=True` to shuffle the rows by id first). With errors="raise" a bad series fails the computation with
    its id; with "skip" it is left out and logged (logger tsrnn.distributed) on the worker. Every worker must
    read `model_path` (shared storage) or have it shipped with client.upload_file."""
    with needs_extras("tsrnn.distributed.forecast"):
        require("dask", "distributed", "pandas", "pyarrow")
    model = Forecaster.load(model_path)
    model.check_columns([str(c) for c in ddf.columns], "the Dask DataFrame")
    if errors not in ("raise", "skip"):
        raise ConfigError(f"errors must be 'raise' or 'skip', got {errors!r}")
    if shuffle and model.meta.id_col:
        ddf = ddf.shuffle(on=model.meta.id_col)
    # Here, not at the top: pandas comes with the optional dask extra.
    import pandas as pd

    time_dtype = ddf._meta[model.meta.time_col].dtype
    utc = isinstance(time_dtype, pd.DatetimeTZDtype)
    meta = _empty_output(model, utc).to_pandas()
    opts = Options(device, threads, allow_freq_mismatch)
    return ddf.map_partitions(_pandas_part, str(Path(model_path).resolve()), opts, errors, utc, meta=meta)


def _empty_output(model: Forecaster, utc: bool) -> pl.DataFrame:
    schema: dict[str, Any] = {}
    if model.meta.id_col:
        schema[model.meta.id_col] = pl.String
    schema[model.meta.time_col] = pl.Datetime("us", "UTC" if utc else None)
    schema.update(dict.fromkeys(model.meta.output_columns(), pl.Float32))
    return pl.DataFrame(schema=schema)


def _pandas_part(
    pdf: pd.DataFrame,
    model_path: str,
    opts: Options,
    errors: str,
    utc: bool,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    model = worker_model(model_path, opts.device, opts.threads)
    name = f"partition {partition_info['number']}" if partition_info else "partition"
    frame = pl.from_pandas(pdf) if len(pdf) else pl.DataFrame()
    result = PartResult()
    if len(pdf):
        result = forecast_partition(model, frame, name, allow_freq_mismatch=opts.allow_freq_mismatch)
    if result.skipped and errors == "raise":
        more = f" (and {len(result.skipped) - 1} more series in {name})" if len(result.skipped) > 1 else ""
        raise DataError(result.skipped[0].reason + more)
    for s in result.skipped:
        log.warning("skipped: %s", s.reason)
    empty = _empty_output(model, utc)
    if result.table is None:
        return empty.to_pandas()
    table = result.table
    t = model.meta.time_col
    zone = getattr(table.schema[t], "time_zone", None)
    if (zone is not None) != utc:  # the data's zone differs from what the frame's dtype promised
        table = table.with_columns(pl.col(t).dt.replace_time_zone("UTC" if utc else None))
    return table.cast(empty.schema).to_pandas()
