"""The partition tasks and the files they leave: each Parquet file or shuffled partition forecast on a worker into
part-NNNNN.parquet (a temporary file renamed when whole), the part files of an earlier run removed, and what was
skipped listed in skipped.csv."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from .dist_worker import FILE, ROW, Options, PartResult, Skipped, forecast_frame, shipped_model
from .errors import DataError
from .parquetio import ParquetSource, write_parquet
from .safeio import atomic_write

if TYPE_CHECKING:
    import pandas as pd

PART_NAME = re.compile(r"^part-\d{5,}\.parquet$")
SKIPPED_FILE = "skipped.csv"


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
    index: int, path: str, label: str | None, model_bytes: bytes, model_name: str, out_dir: str, opts: Options
) -> PartReport:
    """Forecast one file (or, for a model without series ids, the whole data set) into part-INDEX.parquet.
    `label` names the file in messages (default: its name)."""
    model = shipped_model(model_bytes, model_name, opts.device, opts.threads)
    try:
        source = ParquetSource.open(path)
        label = label or source.name
        model.check_columns(source.columns, label)
        frame = source.scan(list(dict.fromkeys(model.columns))).collect()
        frame = frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))
        result = forecast_frame(
            model, frame, label, allow_freq_mismatch=opts.allow_freq_mismatch, describe=source.describe_rows
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
    result = forecast_frame(model, frame, name, allow_freq_mismatch=opts.allow_freq_mismatch)
    return _report(index, name, result, out_dir)


def _report(index: int, source: str, result: PartResult, out_dir: str) -> PartReport:
    report = PartReport(index, source, result.series, skipped=result.skipped, warnings=result.warnings)
    if result.table is not None:
        path = Path(out_dir) / f"part-{index:05d}.parquet"
        write_parquet(result.table, path, example="results/")
        report.out, report.rows = path.name, result.table.height
    return report


def remove_stale_parts(out: Path, written: set[str]) -> int:
    """Remove the part files of an earlier run that this run did not write; how many were removed."""
    removed = 0
    for f in out.iterdir():
        if PART_NAME.match(f.name) and f.name not in written:
            f.unlink(missing_ok=True)
            removed += 1
    return removed


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
