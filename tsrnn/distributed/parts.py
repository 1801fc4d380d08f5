"""The partition tasks and the files they leave: each Parquet file or shuffled partition forecast on a worker into
part-NNNNN.parquet (a temporary file renamed when whole) in the run's staging folder (`tsrnn.distributed.staging`), and
what was skipped listed in skipped.csv."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from tsrnn.core.errors import ConfigError, DataError
from tsrnn.core.safeio import atomic_write
from tsrnn.data.parquetio import ParquetSource
from tsrnn.distributed.staging import SKIPPED_FILE as SKIPPED_FILE
from tsrnn.distributed.worker import FILE, ROW, Options, PartResult, Skipped, forecast_partition, shipped_model

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class PartReport:
    """What a partition task did (sent back to the client)."""

    index: int
    source: str
    series: int = 0
    rows: int = 0
    out: str | None = None
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def file_task(
    index: int,
    path: str,
    label: str | None,
    model_bytes: bytes,
    model_name: str,
    out_dir: str,
    opts: Options,
    files: list[str] | None = None,
) -> PartReport:
    """Forecast one file (or, for one series, the whole data set: its readable `files`) into part-INDEX.parquet.
    `label` names the file in messages (default: its name). A file that cannot be read, whatever the reason, is
    reported as skipped."""
    model = shipped_model(model_bytes, model_name, opts.device, opts.threads)
    try:
        source = ParquetSource.open(path, None if files is None else [Path(f) for f in files])
        label = label or source.name
        model.check_columns(source.columns, label)
        columns = [*model.columns, *([opts.id_col] if opts.id_col else [])]
        frame = source.collect(list(dict.fromkeys(columns)))
        frame = frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))
        result = forecast_partition(
            model,
            frame,
            label,
            allow_freq_mismatch=opts.allow_freq_mismatch,
            describe=source.describe_rows,
            id_col=opts.id_col,
        )
    except DataError as exc:
        where = label or Path(path).name
        return PartReport(index, where, skipped=[Skipped(None, where, exc.message)])
    return _report(index, label, result, out_dir)


def frame_task(
    index: int, pdf: pd.DataFrame, model_bytes: bytes, model_name: str, out_dir: str, opts: Options
) -> PartReport:
    """Forecast one shuffled partition into part-INDEX.parquet."""
    model = shipped_model(model_bytes, model_name, opts.device, opts.threads)
    name = f"partition {index}"
    frame = pl.from_pandas(pdf).sort(FILE, ROW)  # the rows in their files' order, as one machine reads them
    result = forecast_partition(model, frame, name, allow_freq_mismatch=opts.allow_freq_mismatch, id_col=opts.id_col)
    return _report(index, name, result, out_dir)


def _report(index: int, source: str, result: PartResult, out_dir: str) -> PartReport:
    report = PartReport(index, source, result.series, skipped=result.skipped, warnings=result.warnings)
    if result.table is not None and _write_part(result.table, Path(out_dir) / f"part-{index:05d}.parquet"):
        report.out, report.rows = f"part-{index:05d}.parquet", result.table.height
    return report


def _write_part(table: pl.DataFrame, path: Path) -> bool:
    """Write a partition into the run's staging folder: a temporary file beside it renamed when whole. False,
    and nothing written, when the folder is gone (the run was stopped and its staging folder removed): the
    folder is never created again here."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as fh:
            table.write_parquet(fh)
    except FileNotFoundError:
        return False
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; choose another --out folder") from None
    try:
        os.replace(tmp, path)
    except FileNotFoundError:
        return False
    return True


def write_skipped(out: Path, skipped: list[Skipped]) -> None:
    """List the skipped series and files in out/skipped.csv (written atomically), or remove an earlier list."""
    skipped_file = out / SKIPPED_FILE
    if skipped:
        table = pl.DataFrame(
            [s.to_dict() for s in skipped], schema={"series": pl.String, "file": pl.String, "reason": pl.String}
        )
        atomic_write(skipped_file, lambda tmp: table.write_csv(tmp))
    else:
        skipped_file.unlink(missing_ok=True)
