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
    lines = _check_fields_fast(p, data, delimiter) if b'"' not in data else _check_fields(p, text, delimiter)
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


def read_header(path: str | os.PathLike[str]) -> list[str]:
    """The column names, from the first line alone (for a quick check before a full read)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    with p.open("rb") as fh:
        first = fh.readline(1 << 20).removeprefix(b"\xef\xbb\xbf")
    text = first.decode("utf-8", errors="replace").strip()
    if not text:
        raise DataError(f"{p.name}: the file is empty; it needs a header row and data rows")
    return [c.strip() for c in next(csv.reader([text], delimiter=sniff_delimiter(text)))]


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most fields (comma, semicolon or tab)."""
    body = text.lstrip()
    cut = body.find("\n")
    header = (body if cut < 0 else body[:cut]).rstrip("\r")
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


def _check_fields_fast(p: Path, data: bytes, delimiter: str) -> np.ndarray:
    """The same check as _check_fields for a file without quotes, vectorised over its bytes."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == ord("\n"))
    if not len(ends) or ends[-1] != len(buf) - 1:
        ends = np.r_[ends, len(buf)]
    starts = np.r_[0, ends[:-1] + 1]
    line_of_delim = np.searchsorted(ends, np.flatnonzero(buf == ord(delimiter)))
    fields = np.bincount(line_of_delim, minlength=len(ends)) + 1
    blank = _short_blank(data, starts, ends)
    numbers = np.arange(1, len(ends) + 1)
    header = int(np.flatnonzero(~blank)[0])
    width = int(fields[header])
    if width < 2:
        text = data[starts[header]:ends[header]].decode().strip()
        return _check_fields(p, text, delimiter)  # one-column header: the slow path words the error
    rows = np.flatnonzero(~blank)[1:]
    bad = rows[fields[rows] != width]
    if bad.size:
        i = int(bad[0])
        header_text = data[starts[header]:ends[header]].decode().strip()
        raise DataError(
            f"{p.name}: line {numbers[i]} has {int(fields[i])} fields, expected {width} "
            f"({DELIMITER_NAMES[delimiter]}-separated header: {header_text.replace(delimiter, ', ')}); "
            "fix or remove that line"
        )
    if not rows.size:
        raise DataError(f"{p.name}: only a header row (line {numbers[header]}); the file has no data rows")
    return numbers[rows]


def _short_blank(data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lines with nothing but white space; only lines of at most 2 bytes need a look."""
    out = np.zeros(len(ends), dtype=bool)
    for i in np.flatnonzero(ends - starts <= 2):
        out[i] = not data[starts[i]:ends[i]].strip()
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it the usual mode
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
