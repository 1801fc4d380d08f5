"""Read a CSV into a table of strings with polars, and say exactly what is wrong with a bad one.

`tsrnn.data.csvcheck` checks the bytes first (delimiter, UTF-8, quotes, field counts); this module reads the checked
file with polars, as text or typed, and keeps the first and last rows as written for a preview.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tsrnn.core.errors import DataError
from tsrnn.data.csvcheck import BLANK, BOM, csv_error, first_line, read_checked, scan, sniff_delimiter
from tsrnn.data.parquetio import ParquetSource, is_parquet
from tsrnn.data.rawtable import PREVIEW_ROWS, RawTable

CHUNK = 1 << 22
"""Bytes per piece when a file is checked piece by piece (pieces end at a line end)."""
SAMPLE_ROWS = 2000
"""Rows read as text to tell which columns hold numbers before the typed read."""


def read_raw(
    path: str | os.PathLike[str], typed: bool = False, ids: Collection[str] = (), times: Collection[str] = ()
) -> RawTable:
    """Read a CSV; reject files that are empty, not UTF-8, or ragged.

    Every cell is text, unless `typed`: then polars parses as it reads, which for a long file takes a fraction of
    the memory of text. Columns named in `ids` become Categorical; those in `times` whose first rows are all
    YYYY-MM-DD become Date; any other column whose first rows are all plain numbers becomes Float64. A typed
    column holds only finite numbers or dates, and nulls only for empty number cells; any other cell makes the
    whole file be read as text again, so the caller's text checks name the bad cells.

    Line ends may be LF, CRLF or a lone CR (old Mac exports), mixed too. Rows of nothing but white space and
    delimiters are skipped, and so are such lines before the header. Quoted fields follow RFC 4180; a quote
    anywhere else is refused with its line."""
    p = Path(path)
    if _parquet(p):
        return ParquetSource.open(p).read(ids=tuple(ids))
    if not p.exists():
        raise DataError(f"{p}: file not found")
    if p.is_dir():
        raise DataError(f"{p}: is a folder, not a CSV file")
    try:
        head = _head_text(p)
    except OSError as exc:
        raise _unreadable(p, exc) from None
    if not head.strip():
        raise DataError(f"{p.name}: the file is empty; it needs a header row and data rows")
    delimiter = sniff_delimiter(head)
    rows = scan(p, delimiter, CHUNK)
    source: Path | bytes = p
    if rows is None:
        source, rows = read_checked(p, delimiter, CHUNK)
    lines = rows.lines
    # Only blank rows can be longer than the header (every other row was checked): polars may cut them.
    opts: dict[str, Any] = {"separator": delimiter, "infer_schema": False, "truncate_ragged_lines": rows.wide_blank}
    _check_header(p, rows.header, rows.header_line)
    frame = None
    if typed and source is p:
        sample = _drop_empty_rows(pl.read_csv(p, n_rows=SAMPLE_ROWS, **opts), blank=True)
        frame = _read_typed(p, opts, sample, set(ids), set(times))
    if frame is None:
        frame = _drop_empty_rows(pl.read_csv(source, **opts))
        if frame.height != len(lines):
            frame = _drop_empty_rows(frame, blank=True)
        preview = _ends(frame)
    else:
        frame = _drop_empty_rows(frame)
        if frame.height != len(lines):
            frame = _drop_empty_rows(frame, blank=True)
        preview = _typed_preview(p, delimiter, sample, frame)
    if frame.height != len(lines):  # polars and csv disagree: fall back to indices
        lines = np.arange(2, frame.height + 2, dtype=lines.dtype)
    names = _stripped_names(frame.columns)
    return RawTable(p, frame.rename(names), lines, delimiter, preview.rename(names))


def _drop_empty_rows(frame: pl.DataFrame, blank: bool = False) -> pl.DataFrame:
    """Without the rows whose cells are all empty (`blank`: or only white space)."""
    cells = [pl.col(c).is_null() for c in frame.columns]
    if blank:
        cells = [
            e | (pl.col(c).cast(pl.String).str.strip_chars(BLANK) == "") if t in (pl.String, pl.Categorical) else e
            for e, (c, t) in zip(cells, frame.schema.items(), strict=True)
        ]
    empty = pl.all_horizontal(cells)
    return frame.filter(~empty) if frame.select(empty.any()).item() else frame


def _stripped_names(columns: list[str]) -> dict[str, str]:
    """Column names without surrounding white space, where that leaves a name no other column has."""
    taken = set(columns)
    names = {}
    for c in columns:
        name = c.strip()
        if name and name != c and name not in taken:
            names[c] = name
            taken.add(name)
    return names


def _check_header(p: Path, header: list[str], line: int) -> None:
    """Refuse a header that names a column twice (empty names may repeat: unused columns)."""
    seen: set[str] = set()
    for name in (h.strip() for h in header):
        if name in seen:
            raise DataError(
                f"{p.name}: the header (line {line}) names column '{name[:40]}' twice; give every column its own name"
            )
        if name:
            seen.add(name)


def _ends(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.height <= 2 * PREVIEW_ROWS:
        return frame
    return pl.concat([frame.head(PREVIEW_ROWS), frame.tail(PREVIEW_ROWS)])


def _typed_preview(p: Path, delimiter: str, sample: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """The first and last rows as text: the head from the text sample, the tail from the file's last bytes
    (a typed read holds numbers and dates, not the cells as written)."""
    head = _ends(sample)
    if frame.height <= 2 * PREVIEW_ROWS:
        return head
    size = p.stat().st_size
    with p.open("rb") as fh:
        fh.seek(max(0, size - (1 << 16)))
        end = fh.read().decode("utf-8", errors="replace").splitlines()
    lines = (line for line in end[1:] if line.strip() and "\0" not in line)
    parsed = [
        r
        for r in csv.reader(lines, delimiter=delimiter)
        if len(r) == frame.width and any(cell.strip(BLANK) for cell in r)
    ]
    rows = [[cell if cell.strip() else None for cell in r] for r in parsed[-PREVIEW_ROWS:]]
    tail = pl.DataFrame(rows, schema=dict.fromkeys(head.columns, pl.String), orient="row")
    return pl.concat([head.head(PREVIEW_ROWS), tail])


def _head_text(p: Path) -> str:
    """The first kilobytes of the file as text (enough for the header), without a byte-order mark."""
    with p.open("rb") as fh:
        data = fh.read(1 << 16).removeprefix(BOM)
    return data.decode("utf-8", errors="replace")


def _read_typed(
    p: Path, opts: dict[str, Any], sample: pl.DataFrame, ids: set[str], times: set[str]
) -> pl.DataFrame | None:
    """The file with number, date and id columns parsed (as the text sample of its first rows suggests), or
    None when it must be read as text."""
    schema: dict[str, pl.DataType] = {}
    for c in sample.columns:
        name = c.strip()
        if name in ids:
            schema[c] = pl.Categorical()
        elif name in times:
            if _all_match(sample[c], r"^\s*\d{4}-\d{2}-\d{2}\s*$"):
                schema[c] = pl.Date()
        elif _all_match(sample[c], r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"):
            schema[c] = pl.Float64()
    if not schema:
        return None
    try:
        frame = pl.read_csv(p, schema_overrides=schema, **opts)
    except pl.exceptions.PolarsError:
        return None
    checks = [pl.col(c).is_finite().all() for c, t in schema.items() if t == pl.Float64]
    checks += [pl.col(c).is_not_null().all() for c, t in schema.items() if t == pl.Date]
    ok = frame.select(checks).row(0) if checks else ()
    return frame if all(x is not False for x in ok) else None


def _all_match(s: pl.Series, pattern: str) -> bool:
    """Whether every filled cell of a text sample matches."""
    text = s.drop_nulls()
    return not text.is_empty() and bool(text.str.contains(pattern).all())


def read_header(path: str | os.PathLike[str]) -> list[str]:
    """The column names, from the header line alone (for a quick check before a full read); for Parquet data,
    from the file's footer."""
    p = Path(path)
    if _parquet(p):
        return ParquetSource.open(p).columns
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    try:
        with p.open("rb") as fh:
            head = fh.read(1 << 20).removeprefix(BOM)
    except OSError as exc:
        raise _unreadable(p, exc) from None
    found = first_line(head.decode("utf-8", errors="replace"))
    if found is None:
        raise DataError(f"{p.name}: the file is empty; it needs a header row and data rows")
    number, text = found
    reader = csv.reader([text], delimiter=sniff_delimiter(text))
    try:
        return [c.strip() for c in next(reader)]
    except csv.Error as exc:
        raise csv_error(p, number, exc) from None


def _parquet(p: Path) -> bool:
    """Whether `p` names Parquet data rather than a CSV (tsrnn.data.parquetio reads it)."""
    if p.suffix.lower() in (".csv", ".tsv", ".txt"):
        return False
    return is_parquet(p)


def _unreadable(p: Path, exc: OSError) -> DataError:
    return DataError(f"{p}: cannot read the file ({exc.strerror or exc}); check that it exists and may be read")
