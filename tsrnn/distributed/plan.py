"""How Parquet files become partitions: one per file when every series is whole in one file, else the rows shuffled
by series id once (Dask's shuffle) into as many partitions. A first pass on the workers reads each file's footer
and hashes its series ids to decide."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from tsrnn.core.errors import DataError
from tsrnn.core.extras import require
from tsrnn.data.parquetio import ParquetSource
from tsrnn.distributed.parts import file_task, frame_task
from tsrnn.distributed.worker import FILE, ROW, Options, Skipped, shipped_model
from tsrnn.runtime.inference import Forecaster

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client


def submit_parts(
    client: Client,
    model: Forecaster,
    data: str,
    files: list[str],
    labels: dict[str, str],
    ship: dict[str, Any],
    out: str,
    opts: Options,
    skipped: list[Skipped],
    on_note: Callable[[str], None] | None = None,
) -> tuple[list[Any], bool]:
    """Submit one task per partition; their futures, and whether the rows are shuffled by id. Data without
    series ids (`opts.id_col` None) is one series: all the files together are one partition. Unreadable files go
    to `skipped`."""
    id_col = opts.id_col
    if id_col is None:  # one series: every file together is one partition
        task = client.submit(file_task, 0, data, None, out_dir=out, opts=opts, files=files, pure=False, **ship)
        return [task], False
    good, split = files, None
    if len(files) > 1:
        good, split = _survey(client, files, labels, ship, opts, skipped)
    if split is None:
        futures = client.map(
            file_task,
            range(len(good)),
            good,
            [labels[f] for f in good],
            out_dir=out,
            opts=opts,
            pure=False,
            **ship,
        )
        return futures, False
    if on_note:
        on_note(
            f"series are split over several files (e.g. {split}); shuffling the rows by "
            f"'{id_col}' once (write each series into one file to skip this)"
        )
    return _shuffled(client, good, labels, model, ship, out, opts), True


@dataclass
class Survey:
    """One file's footer and series ids (hashed), or why it cannot be read."""

    path: str
    hashes: np.ndarray
    error: str | None = None


def _survey_file(path: str, model_bytes: bytes, model_name: str, opts: Options) -> Survey:
    model = shipped_model(model_bytes, model_name, opts.device, opts.threads)
    id_col = opts.id_col
    assert id_col is not None
    try:
        source = ParquetSource.open(path)
        model.check_columns(source.columns, source.name)
        ids = source.collect([id_col]).select(pl.col(id_col).cast(pl.String).fill_null("").unique().hash())
        return Survey(path, ids.to_series().to_numpy())
    except DataError as exc:
        return Survey(path, np.zeros(0, dtype=np.uint64), exc.message)


def file_labels(files: list[str]) -> dict[str, str]:
    """How messages name each file: its name, or its path under the data's folder where names repeat
    (bucket=1/0.parquet, bucket=2/0.parquet)."""
    names = [Path(f).name for f in files]
    if len(set(names)) == len(names):
        return dict(zip(files, names, strict=True))
    root = os.path.commonpath([os.path.dirname(f) for f in files])
    return {f: os.path.relpath(f, root) for f in files}


def _survey(
    client: Client,
    files: list[str],
    labels: dict[str, str],
    ship: dict[str, Any],
    opts: Options,
    skipped: list[Skipped],
) -> tuple[list[str], str | None]:
    """The readable files, and an example of a series found in several of them (None: every series is whole in
    one file). Unreadable files go to `skipped`."""
    surveys: list[Survey] = client.gather(client.map(_survey_file, files, opts=opts, pure=False, **ship))
    good = [s for s in surveys if s.error is None]
    skipped += [Skipped(None, labels[s.path], s.error) for s in surveys if s.error is not None]
    if len(good) < 2:
        return [s.path for s in good], None
    hashes = np.concatenate([s.hashes for s in good])
    owner = np.repeat(np.arange(len(good)), [len(s.hashes) for s in good])
    order = np.argsort(hashes, kind="stable")
    dup = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
    if not dup.size:
        return [s.path for s in good], None
    a, b = owner[order[dup[0]]], owner[order[dup[0] + 1]]
    return [s.path for s in good], f"one in {labels[good[a].path]} and {labels[good[b].path]}"


def _shuffled(
    client: Client,
    files: list[str],
    labels: dict[str, str],
    model: Forecaster,
    ship: dict[str, Any],
    out: str,
    opts: Options,
) -> list[Any]:
    """Read every file, shuffle the rows by series id with Dask (each series then whole in one partition) and
    forecast each partition."""
    require("dask", "pandas")
    # Here, not at the top: Dask is the optional dask extra, needed only when a cluster runs.
    import dask
    import dask.dataframe as dd

    id_col = opts.id_col
    assert id_col is not None
    columns = list(dict.fromkeys([*model.columns, id_col]))
    source = ParquetSource.open(files[0])
    meta = (
        source.scan(columns)
        .head(0)
        .collect()
        .with_columns(
            pl.col(id_col).cast(pl.String),
            pl.lit(None, dtype=pl.Int64).alias(ROW),
            pl.lit(None, dtype=pl.String).alias(FILE),
        )
        .to_pandas(use_pyarrow_extension_array=True)
    )
    ddf = dd.from_map(_read_for_shuffle, files, [labels[f] for f in files], wanted=columns, id_col=id_col, meta=meta)
    parts = ddf.shuffle(on=id_col, npartitions=len(files)).to_delayed()
    tasks = [
        dask.delayed(frame_task)(i, p, ship["model_bytes"], ship["model_name"], out, opts) for i, p in enumerate(parts)
    ]
    return list(client.compute(tasks))


def _read_for_shuffle(path: str, label: str, wanted: list[str], id_col: str) -> pd.DataFrame:
    source = ParquetSource.open(path)
    frame = source.collect(wanted)
    return frame.with_columns(
        pl.col(id_col).cast(pl.String).fill_null(""),
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW),
        pl.lit(label).alias(FILE),
    ).to_pandas(use_pyarrow_extension_array=True)
