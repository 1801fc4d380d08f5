"""Read a CSV into a table of strings with polars, and say exactly what is wrong with a bad one."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Collection
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .errors import DataError

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
MISSING_TOKENS = ("", "NA", "NaN", "nan", "null", "NULL", "None")
BOM = b"\xef\xbb\xbf"
BLANK = " \t\r\n\x0b\x0c"
"""White space a blank row may hold (besides delimiters); a row with nothing else is skipped."""
_BLANK_BYTES = BLANK.encode()
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|\Z)")


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
        from .parquetio import ParquetSource

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
    rows = _scan(p, delimiter)
    source: Path | bytes = p
    if rows is None:
        source, rows = _read_checked(p, delimiter)
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
        from .parquetio import ParquetSource

        return ParquetSource.open(p).columns
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    try:
        with p.open("rb") as fh:
            head = fh.read(1 << 20).removeprefix(BOM)
    except OSError as exc:
        raise _unreadable(p, exc) from None
    found = _first_line(head.decode("utf-8", errors="replace"))
    if found is None:
        raise DataError(f"{p.name}: the file is empty; it needs a header row and data rows")
    number, text = found
    reader = csv.reader([text], delimiter=sniff_delimiter(text))
    try:
        return [c.strip() for c in next(reader)]
    except csv.Error as exc:
        raise _csv_error(p, number, exc) from None


def _parquet(p: Path) -> bool:
    """Whether `p` names Parquet data rather than a CSV (tsrnn.parquetio reads it)."""
    if p.suffix.lower() in (".csv", ".tsv", ".txt"):
        return False
    from .parquetio import is_parquet

    return is_parquet(p)


def _unreadable(p: Path, exc: OSError) -> DataError:
    return DataError(f"{p}: cannot read the file ({exc.strerror or exc}); check that it exists and may be read")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most fields (comma, semicolon or tab)."""
    found = _first_line(text)
    header = found[1] if found else text
    counts = {d: _count_fields(header, d) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])


def _first_line(text: str) -> tuple[int, str] | None:
    """The header: the first line with more than white space and delimiters, and its number (lines end
    with LF, CRLF or a lone CR)."""
    for number, m in enumerate(_LINE.finditer(text), 1):
        if m.group(1).strip(BLANK + ",;"):
            return number, m.group(1)
        if not m.group(2):
            break
    return None


def _count_fields(line: str, delimiter: str) -> int:
    """Fields on one line: delimiters outside quotes, plus one."""
    return 1 + sum(part.count(delimiter) for part in line.split('"')[::2])


def _csv_error(p: Path, line: int, exc: csv.Error) -> DataError:
    if "field limit" in str(exc):
        return DataError(
            f"{p.name}: line {line} has a field of more than {csv.field_size_limit() // 1024} KiB; a cell holds a "
            "time, an id or a number: check the quotes and the delimiters on that line"
        )
    return DataError(
        f"{p.name}: line {line} cannot be read as CSV ({exc}); check the quotes and the delimiters on that line"
    )


@dataclass
class _Rows:
    """What the field check found."""

    lines: np.ndarray
    """The file line of every data row."""
    header: list[str]
    header_line: int
    wide_blank: bool
    """Whether a blank row has more fields than the header."""


def _read_checked(p: Path, delimiter: str) -> tuple[Path | bytes, _Rows]:
    """Check a file that needs more than _scan: quotes, lone CR line ends, or white space before the header.
    Returns what polars should read (the file itself, or its text from the header on with LF line ends) and
    the rows."""
    data = p.read_bytes().removeprefix(BOM)
    text = _decode(p, data)
    same = True
    if text.count("\r") != text.count("\r\n"):  # lone CR line ends: read as LF, as csv and Python do
        text, data, same = text.replace("\r\n", "\n").replace("\r", "\n"), b"", False
    found = _header_start(text)
    if found is None:
        raise DataError(f"{p.name}: the file is empty; it needs a header row and data rows")
    start, first = found
    if start:
        text, data, same = text[start:], b"", False
    if not same:
        data = text.encode()
    _check_quotes(p, data, delimiter, first)
    source: Path | bytes = p if same else data
    del data  # the csv check holds the text: one copy of a long file, not two
    return source, _check_fields(p, text, delimiter, first)


def _header_start(text: str) -> tuple[int, int] | None:
    """Where the header line starts (offset in `text`, line number); lines before it are blank."""
    pos = 0
    number = 1
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        if text[pos:end].strip(BLANK + ",;"):
            return pos, number
        pos, number = end + 1, number + 1
    return None


def _check_quotes(p: Path, data: bytes, delimiter: str, first: int) -> None:
    """Refuse quotes outside the RFC 4180 rules, which polars and csv would read differently: a quote must open
    a field and close it (right before a delimiter or the line end), and quotes inside are doubled. `first` is
    the file line of the data's first line."""
    buf = np.frombuffer(data, dtype=np.uint8)
    quotes = np.concatenate(
        [np.flatnonzero(buf[a : a + CHUNK] == ord('"')) + a for a in range(0, len(buf), CHUNK)]
        or [np.zeros(0, dtype=np.int64)]
    )
    if not quotes.size:
        return
    edge = np.frombuffer((delimiter + "\n\r").encode(), dtype=np.uint8)
    opens, closes = quotes[0::2], quotes[1::2]
    open_ok = (opens == 0) | np.isin(buf[np.maximum(opens - 1, 0)], edge)
    open_ok[1:] |= closes[: len(opens) - 1] == opens[1:] - 1  # the second quote of a doubled pair
    close_ok = (closes == len(buf) - 1) | np.isin(buf[np.minimum(closes + 1, len(buf) - 1)], edge)
    pairs = min(len(closes), len(opens) - 1)
    close_ok[:pairs] |= opens[1 : pairs + 1] == closes[:pairs] + 1  # the first quote of a doubled pair
    bad_open = int(opens[np.argmin(open_ok)]) if not open_ok.all() else len(buf)
    k = int(np.argmin(close_ok)) if not close_ok.all() else -1
    bad_close = int(closes[k]) if k >= 0 else len(buf)

    def line(pos: int) -> int:
        return first + int(np.count_nonzero(buf[:pos] == ord("\n")))

    def shown(pos: int) -> str:
        start = data.rfind(b"\n", 0, pos) + 1
        end = data.find(b"\n", pos)
        text = data[start : len(data) if end < 0 else end].decode().strip()
        return repr(text if len(text) <= 60 else text[:57] + "...")

    how = "quote the whole field and double the quotes in it, or remove the quotes"
    if bad_open < bad_close:
        raise DataError(f'{p.name}: line {line(bad_open)} has a quote (") inside a field ({shown(bad_open)}); ' + how)
    if bad_close < len(buf):
        opened = line(int(opens[k]))
        if opened == line(bad_close):
            raise DataError(
                f"{p.name}: line {opened} has text after the closing quote of a field ({shown(bad_close)}); {how}"
            )
        raise DataError(
            f'{p.name}: the quote (") opened on line {opened} is only closed on line '
            f"{line(bad_close)}, inside a field ({shown(bad_close)}); close the quote on line {opened} "
            "or remove it"
        )
    if len(quotes) % 2:
        raise DataError(
            f'{p.name}: the quote (") on line {line(int(opens[-1]))} is never closed '
            f"({shown(int(opens[-1]))}); close it or remove it"
        )


def _check_fields(p: Path, text: str, delimiter: str, first: int = 1) -> _Rows:
    """Return the line number of each data row; raise on a row with the wrong field count. `first` is the file
    line of the text's first line, the header."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        if len(header) < 2:
            raise DataError(
                f"{p.name}: the header has one column ('{header[0][:40]}'); a time series needs a time "
                "column and a value column separated by a comma, semicolon or tab"
            )
        width = len(header)
        lines: list[int] = []
        wide_blank = False
        start = reader.line_num + first - 1
        for row in reader:
            if not any(field.strip(BLANK) for field in row):
                wide_blank |= len(row) > width
                continue  # blank line
            if len(row) != width:
                raise _ragged(p, reader.line_num + first - 1, len(row), header, delimiter)
            lines.append(reader.line_num + first - 1)
    except csv.Error as exc:
        raise _csv_error(p, reader.line_num + first - 1, exc) from None
    if not lines:
        raise _header_only(p, start)
    return _Rows(np.asarray(lines, dtype=np.int64), header, first, wide_blank)


def _ragged(p: Path, line: int, fields: int, header: list[str], delimiter: str) -> DataError:
    return DataError(
        f"{p.name}: line {line} has {fields} fields, expected {len(header)} "
        f"({DELIMITER_NAMES[delimiter]}-separated header: {', '.join(header)}); fix or remove that line"
    )


def _header_only(p: Path, line: int) -> DataError:
    return DataError(f"{p.name}: only a header row (line {line}); the file has no data rows")


def _scan(p: Path, delimiter: str) -> _Rows | None:
    """Check the file piece by piece, keeping no copy of it: UTF-8, and the same field count on every
    non-blank line. Returns None when csv must check the file (it holds quotes or lone CR line ends, white
    space before the header, or a one-column header)."""
    width = header_line = 0
    header: list[str] = []
    rows: list[np.ndarray] = []
    wide_blank = False
    ragged: DataError | None = None
    done_lines = 0
    offset = 0
    rest = b""
    with p.open("rb") as fh:
        while True:
            first = fh.tell() == 0
            block = fh.read(CHUNK)
            data = (rest + block).removeprefix(BOM) if first else rest + block
            if b"\r" in data and data.count(b"\r") > data.count(b"\r\n") + (bool(block) and data.endswith(b"\r")):
                return None  # a lone CR ends a line
            cut = data.rfind(b"\n") + 1 if block else len(data)
            piece, rest = data[:cut], data[cut:]
            if not piece:
                if not block:
                    break
                continue
            _decode(p, piece, offset)
            if b'"' in piece:
                return None
            fields, blank, starts, ends = _fields_per_line(piece, delimiter)
            numbers = np.arange(done_lines + 1, done_lines + len(fields) + 1)
            if not width:
                h = _header_index(piece, starts, ends)
                if piece[: len(piece) if h is None else starts[h]].strip(b"\r\n"):
                    return None  # white space before the header: polars would take it for the header
                if h is None:
                    blank[:] = True
                else:
                    width, header_line = int(fields[h]), int(numbers[h])
                    header = piece[starts[h] : ends[h]].decode().strip().split(delimiter)
                    if width < 2:
                        return None  # one-column header: csv words the error
                    blank[: h + 1] = True
            if width:
                wide_blank |= bool(np.any(blank & (fields > width)))
            data_rows = np.flatnonzero(~blank)
            bad = data_rows[fields[data_rows] != width]
            if bad.size and ragged is None:
                # Said at the end: a later quote or lone CR sends the whole file to csv, which reports its own
                # first problem, and a bad byte comes first; so the message does not depend on the pieces.
                ragged = _ragged(p, int(numbers[bad[0]]), int(fields[bad[0]]), header, delimiter)
            rows.append(numbers[data_rows])
            done_lines += len(fields)
            offset += len(piece)
            if not block:
                break
    if not width:
        raise DataError(f"{p.name}: the file is empty; it needs a header row and data rows")
    if ragged is not None:
        raise ragged
    lines = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    if not lines.size:
        raise _header_only(p, header_line)
    return _Rows(lines, header, header_line, wide_blank)


def _header_index(piece: bytes, starts: np.ndarray, ends: np.ndarray) -> int | None:
    """The first line of a piece with more than white space and delimiters."""
    for i in range(len(starts)):
        if piece[starts[i] : ends[i]].strip(_BLANK_BYTES + b",;"):
            return i
    return None


def _decode(p: Path, data: bytes, offset: int = 0) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{p.name}: not UTF-8 text (bad byte at offset {offset + exc.start}); save the file as UTF-8"
        ) from None


def _fields_per_line(piece: bytes, delimiter: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fields on every line of a piece of whole lines, which lines are blank, and where lines start and end."""
    buf = np.frombuffer(piece, dtype=np.uint8)
    ends = np.flatnonzero(buf == ord("\n"))
    if not len(ends) or ends[-1] != len(buf) - 1:
        ends = np.r_[ends, len(buf)]
    starts = np.r_[0, ends[:-1] + 1]
    line_of_delim = np.searchsorted(ends, np.flatnonzero(buf == ord(delimiter)))
    fields = np.bincount(line_of_delim, minlength=len(ends)) + 1
    return fields, _blank_lines(piece, buf, starts, ends, delimiter), starts, ends


def _blank_lines(data: bytes, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, delimiter: str) -> np.ndarray:
    """Lines with nothing but white space and delimiters; only lines that start with one need a look."""
    first = buf[np.minimum(starts, len(buf) - 1)]
    maybe = np.isin(first, np.frombuffer((BLANK + delimiter).encode(), dtype=np.uint8)) | (starts == ends)
    out = np.zeros(len(ends), dtype=bool)
    chars = (BLANK + delimiter).encode()
    for i in np.flatnonzero(maybe):
        out[i] = not data[starts[i] : ends[i]].strip(chars)
    return out


def shorten(cell: str, limit: int = 40) -> str:
    """A cell for a message: as written, cut to `limit` characters."""
    return cell if len(cell) <= limit else cell[: limit - 3] + "..."


ROW_LABELS: ContextVar[Callable[[np.ndarray, int], str] | None] = ContextVar("tsrnn_row_labels", default=None)
"""How describe_lines names rows while a data set other than one CSV is loaded (Parquet: file and row)."""


def describe_lines(lines: np.ndarray, limit: int = 5) -> str:
    """'lines 12, 40, 41' or 'lines 12, 40, 41, 55, 60 and 7 more'."""
    label = ROW_LABELS.get()
    if label is not None:
        return label(lines, limit)
    shown = ", ".join(str(int(x)) for x in lines[:limit])
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    word = "line" if len(lines) == 1 else "lines"
    return f"{word} {shown}{more}"


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object], *, example: str | None = None) -> Path:
    """Kept for existing imports: `tsrnn.safeio.atomic_write`."""
    from .safeio import atomic_write as write_safely

    return write_safely(path, write, example=example)
