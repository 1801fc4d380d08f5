"""Check a CSV's bytes before polars reads them, and name the line of the first problem.

The delimiter is the one that splits the header into the most fields. A plain file is checked piece by piece
(`scan`), keeping no copy of it: UTF-8 and the same field count on every non-blank row. A file with quotes, lone
CR line ends or blank lines before the header is checked whole (`read_checked`): quotes must follow RFC 4180,
which polars and csv read alike, and csv counts the fields.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsrnn.core.errors import DataError

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
BOM = b"\xef\xbb\xbf"
BLANK = " \t\r\n\x0b\x0c"
"""White space a blank row may hold (besides delimiters); a row with nothing else is skipped."""
_BLANK_BYTES = BLANK.encode()
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|\Z)")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most fields (comma, semicolon or tab)."""
    found = first_line(text)
    header = found[1] if found else text
    counts = {d: _count_fields(header, d) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])


def first_line(text: str) -> tuple[int, str] | None:
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


def csv_error(p: Path, line: int, exc: csv.Error) -> DataError:
    if "field limit" in str(exc):
        return DataError(
            f"{p.name}: line {line} has a field of more than {csv.field_size_limit() // 1024} KiB; a cell holds a "
            "time, an id or a number: check the quotes and the delimiters on that line"
        )
    return DataError(
        f"{p.name}: line {line} cannot be read as CSV ({exc}); check the quotes and the delimiters on that line"
    )


@dataclass
class CheckedRows:
    """What the field check found."""

    lines: np.ndarray
    """The file line of every data row."""
    header: list[str]
    header_line: int
    wide_blank: bool
    """Whether a blank row has more fields than the header."""


def read_checked(p: Path, delimiter: str, chunk: int) -> tuple[Path | bytes, CheckedRows]:
    """Check a file that needs more than `scan`: quotes, lone CR line ends, or white space before the header.
    Returns what polars should read (the file itself, or its text from the header on with LF line ends) and
    the rows; quotes are looked for `chunk` bytes at a time."""
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
    _check_quotes(p, data, delimiter, first, chunk)
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


def _check_quotes(p: Path, data: bytes, delimiter: str, first: int, chunk: int) -> None:
    """Refuse quotes outside the RFC 4180 rules, which polars and csv would read differently: a quote must open
    a field and close it (right before a delimiter or the line end), and quotes inside are doubled. `first` is
    the file line of the data's first line."""
    buf = np.frombuffer(data, dtype=np.uint8)
    quotes = np.concatenate(
        [np.flatnonzero(buf[a : a + chunk] == ord('"')) + a for a in range(0, len(buf), chunk)]
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


def _check_fields(p: Path, text: str, delimiter: str, first: int = 1) -> CheckedRows:
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
        raise csv_error(p, reader.line_num + first - 1, exc) from None
    if not lines:
        raise _header_only(p, start)
    return CheckedRows(np.asarray(lines, dtype=np.int64), header, first, wide_blank)


def _ragged(p: Path, line: int, fields: int, header: list[str], delimiter: str) -> DataError:
    return DataError(
        f"{p.name}: line {line} has {fields} fields, expected {len(header)} "
        f"({DELIMITER_NAMES[delimiter]}-separated header: {', '.join(header)}); fix or remove that line"
    )


def _header_only(p: Path, line: int) -> DataError:
    return DataError(f"{p.name}: only a header row (line {line}); the file has no data rows")


def scan(p: Path, delimiter: str, chunk: int) -> CheckedRows | None:
    """Check the file in pieces of about `chunk` bytes that end at a line end, keeping no copy of it: UTF-8,
    and the same field count on every non-blank line. Returns None when csv must check the file (it holds
    quotes or lone CR line ends, white space before the header, or a one-column header)."""
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
            block = fh.read(chunk)
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
    return CheckedRows(lines, header, header_line, wide_blank)


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
