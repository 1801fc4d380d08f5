"""Read a CSV into a table of strings with polars, and say exactly what is wrong with a bad one."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Collection
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
    """The cells (text, or typed by read_raw(typed=True)), the file line each row came from, and the first and
    last rows as written in the file."""

    path: Path
    frame: pl.DataFrame
    lines: np.ndarray
    delimiter: str
    preview: pl.DataFrame
    """Text of the first and last PREVIEW_ROWS rows (every row of a short file)."""

    @property
    def name(self) -> str:
        return self.path.name


CHUNK = 1 << 22
"""Bytes per piece when a file is checked piece by piece (pieces end at a line end)."""
PREVIEW_ROWS = 5
SAMPLE_ROWS = 2000
"""Rows read as text to tell which columns hold numbers before the typed read."""


def read_raw(path: str | os.PathLike[str], typed: bool = False, ids: Collection[str] = (),
             times: Collection[str] = ()) -> RawTable:
    """Read a CSV; reject files that are empty, not UTF-8, or ragged.

    Every cell is text, unless `typed`: then polars parses as it reads, which for a long file takes a fraction of
    the memory of text. Columns named in `ids` become Categorical; those in `times` whose first rows are all
    YYYY-MM-DD become Date; any other column whose first rows are all plain numbers becomes Float64. A typed
    column holds only finite numbers or dates, and nulls only for empty number cells; any other cell makes the
    whole file be read as text again, so the caller's text checks name the bad cells."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: file not found")
    if p.is_dir():
        raise DataError(f"{p}: is a folder, not a CSV file")
    head = _head_text(p)
    if not head.strip():
        raise DataError(f"{p.name}: the file is empty; it needs a header row and data rows")
    delimiter = sniff_delimiter(head)
    quoted, lines = _scan(p, delimiter)
    if quoted:
        lines = _check_fields(p, _decode(p, p.read_bytes().removeprefix(b"\xef\xbb\xbf")), delimiter)
    frame = None
    if typed and not quoted:
        sample = _drop_empty_rows(pl.read_csv(p, separator=delimiter, infer_schema=False, n_rows=SAMPLE_ROWS))
        frame = _read_typed(p, delimiter, sample, set(ids), set(times))
    if frame is None:
        frame = _drop_empty_rows(pl.read_csv(p, separator=delimiter, infer_schema=False))
        preview = _ends(frame)
    else:
        frame = _drop_empty_rows(frame)
        preview = _typed_preview(p, delimiter, sample, frame)
    if frame.height != len(lines):  # polars and csv disagree (blank lines): fall back to indices
        lines = np.arange(2, frame.height + 2, dtype=lines.dtype)
    names = {c: c.strip() for c in frame.columns}
    return RawTable(p, frame.rename(names), lines, delimiter, preview.rename(names))


def _drop_empty_rows(frame: pl.DataFrame) -> pl.DataFrame:
    empty = pl.all_horizontal(pl.all().is_null())
    return frame.filter(~empty) if frame.select(empty.any()).item() else frame


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
    lines = (line for line in end[1:] if line.strip())
    parsed = [r for r in csv.reader(lines, delimiter=delimiter) if len(r) == frame.width]
    rows = [[cell if cell.strip() else None for cell in r] for r in parsed[-PREVIEW_ROWS:]]
    tail = pl.DataFrame(rows, schema=dict.fromkeys(head.columns, pl.String), orient="row")
    return pl.concat([head.head(PREVIEW_ROWS), tail])


def _head_text(p: Path) -> str:
    """The first kilobytes of the file as text (enough for the header), without a byte-order mark."""
    with p.open("rb") as fh:
        data = fh.read(1 << 16).removeprefix(b"\xef\xbb\xbf")
    return data.decode("utf-8", errors="replace")


def _read_typed(p: Path, delimiter: str, sample: pl.DataFrame, ids: set[str],
                times: set[str]) -> pl.DataFrame | None:
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
        frame = pl.read_csv(p, separator=delimiter, infer_schema=False, schema_overrides=schema)
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
            raise _ragged(p, reader.line_num, len(row), header, delimiter)
        lines.append(reader.line_num)
    if not lines:
        raise _header_only(p, start)
    return np.asarray(lines, dtype=np.int64)


def _ragged(p: Path, line: int, fields: int, header: list[str], delimiter: str) -> DataError:
    return DataError(
        f"{p.name}: line {line} has {fields} fields, expected {len(header)} "
        f"({DELIMITER_NAMES[delimiter]}-separated header: {', '.join(header)}); fix or remove that line"
    )


def _header_only(p: Path, line: int) -> DataError:
    return DataError(f"{p.name}: only a header row (line {line}); the file has no data rows")


def _scan(p: Path, delimiter: str) -> tuple[bool, np.ndarray]:
    """Check the file piece by piece, keeping no copy of it: UTF-8, and the same field count on every
    non-blank line. Returns whether it holds quotes (then csv must check it) and the line number of each
    data row."""
    width = header_line = 0
    header: list[str] = []
    rows: list[np.ndarray] = []
    done_lines = 0
    offset = 0
    rest = b""
    with p.open("rb") as fh:
        while True:
            block = fh.read(CHUNK)
            data = rest + block
            if offset == 0:
                data = data.removeprefix(b"\xef\xbb\xbf")
            cut = data.rfind(b"\n") + 1 if block else len(data)
            piece, rest = data[:cut], data[cut:]
            if not piece:
                if not block:
                    break
                continue
            _decode(p, piece, offset)
            if b'"' in piece:
                return True, np.zeros(0, dtype=np.int64)
            fields, blank = _fields_per_line(piece, delimiter)
            numbers = np.arange(done_lines + 1, done_lines + len(fields) + 1)
            if not width:
                filled = np.flatnonzero(~blank)
                if filled.size:
                    h = int(filled[0])
                    width, header_line = int(fields[h]), int(numbers[h])
                    header = piece.split(b"\n")[h].decode().strip().split(delimiter)
                    if width < 2:
                        return True, np.zeros(0, dtype=np.int64)  # one-column header: csv words the error
                    blank[: h + 1] = True
            data_rows = np.flatnonzero(~blank)
            bad = data_rows[fields[data_rows] != width]
            if bad.size:
                i = int(bad[0])
                raise _ragged(p, int(numbers[i]), int(fields[i]), header, delimiter)
            rows.append(numbers[data_rows])
            done_lines += len(fields)
            offset += len(piece)
            if not block:
                break
    lines = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    if not lines.size:
        raise _header_only(p, header_line or 1)
    return False, lines


def _decode(p: Path, data: bytes, offset: int = 0) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{p.name}: not UTF-8 text (bad byte at offset {offset + exc.start}); save the file as UTF-8"
        ) from None


def _fields_per_line(piece: bytes, delimiter: str) -> tuple[np.ndarray, np.ndarray]:
    """Fields on every line of a piece of whole lines, and which lines are blank."""
    buf = np.frombuffer(piece, dtype=np.uint8)
    ends = np.flatnonzero(buf == ord("\n"))
    if not len(ends) or ends[-1] != len(buf) - 1:
        ends = np.r_[ends, len(buf)]
    starts = np.r_[0, ends[:-1] + 1]
    line_of_delim = np.searchsorted(ends, np.flatnonzero(buf == ord(delimiter)))
    fields = np.bincount(line_of_delim, minlength=len(ends)) + 1
    return fields, _short_blank(piece, starts, ends)


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
