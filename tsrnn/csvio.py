"""Read a CSV into a table of strings with polars, and say exactly what is wrong with a bad one."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from .errors import DataError

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
MISSING_TOKENS = ("", "NA", "NaN", "nan", "null", "NULL", "None")


@dataclass
class RawTable:
    """Every cell as text, plus the file line each row came from."""

    path: Path
    frame: pl.DataFrame
    lines: np.ndarray
    delimiter: str

    @property
    def name(self) -> str:
        return self.path.name


def read_raw(path: str | os.PathLike[str]) -> RawTable:
    """Read a CSV as strings; reject files that are empty, not UTF-8, or ragged."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: file not found")
    if p.is_dir():
        raise DataError(f"{p}: is a folder, not a CSV file")
    data = p.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{p.name}: not UTF-8 text (bad byte at offset {exc.start}); save the file as UTF-8"
        ) from None
    if not text.strip():
        raise DataError(f"{p.name}: the file is empty; it needs a header row and data rows")
    delimiter = sniff_delimiter(text)
    lines = _check_fields(p, text, delimiter)
    frame = pl.read_csv(
        io.BytesIO(data),
        separator=delimiter,
        infer_schema=False,
    )
    frame = frame.filter(~pl.all_horizontal(pl.all().is_null()))
    if frame.height != len(lines):  # polars and csv disagree (blank lines): fall back to indices
        lines = np.arange(2, frame.height + 2)
    frame = frame.rename({c: c.strip() for c in frame.columns})
    return RawTable(p, frame, lines, delimiter)


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most fields (comma, semicolon or tab)."""
    header = text.lstrip().splitlines()[0]
    counts = {d: len(next(csv.reader([header], delimiter=d))) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])


def _check_fields(p: Path, text: str, delimiter: str) -> np.ndarray:
    """Return the line number of each data row; raise on a row with the wrong field count."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    if len(header) < 2:
        raise DataError(
            f"{p.name}: the header has one column ('{header[0][:40]}'); a time series needs a time "
            "column and a value column separated by a comma, semicolon or tab"
        )
    width = len(header)
    lines: list[int] = []
    start = reader.line_num
    for row in reader:
        if not any(field.strip() for field in row):
            continue  # blank line
        if len(row) != width:
            raise DataError(
                f"{p.name}: line {reader.line_num} has {len(row)} fields, expected {width} "
                f"({DELIMITER_NAMES[delimiter]}-separated header: {', '.join(header)}); fix or remove that line"
            )
        lines.append(reader.line_num)
    if not lines:
        raise DataError(f"{p.name}: only a header row (line {start}); the file has no data rows")
    return np.asarray(lines, dtype=np.int64)


def describe_lines(lines: np.ndarray, limit: int = 5) -> str:
    """'lines 12, 40, 41' or 'lines 12, 40, 41, 55, 60 and 7 more'."""
    shown = ", ".join(str(int(x)) for x in lines[:limit])
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    word = "line" if len(lines) == 1 else "lines"
    return f"{word} {shown}{more}"


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Write through a temporary file in the same folder, then rename: never a half-written file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
