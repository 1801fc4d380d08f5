"""Read Parquet data (a file, a folder or a glob of files) with polars, lazily and only the columns needed, into
the loader's RawTable; write forecasts as Parquet. No pyarrow needed: polars reads and writes Parquet itself.

A Parquet data set is read as one table: its files in name order, one after another. Rows are numbered from 1
in that order, and messages name the file and the row within it ("rows 3, 4 of part-1.parquet")."""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

import tsrnn.core.safeio as safeio
from tsrnn.core.config import DataConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.core.messages import ROW_LABELS, describe_lines
from tsrnn.data.columns import ID_NAMES, id_column
from tsrnn.data.rawtable import PREVIEW_ROWS, RawTable
from tsrnn.timeline.timefreq import TIME_NAMES

if TYPE_CHECKING:
    pass

SUFFIXES = (".parquet", ".pq")
MAGIC = b"PAR1"
"""The first (and last) four bytes of every Parquet file."""
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """Whether `path` names Parquet data: a .parquet (.pq) file, a glob, a folder, or a file that starts with
    Parquet's magic bytes whatever its name. A folder or a glob is always read as one Parquet data set, so that
    `parquet_files` either lists all of its data files or refuses it, naming those it would not read."""
    p = Path(path)
    if p.suffix.lower() in SUFFIXES:
        return True
    if glob.has_magic(str(path)) or p.is_dir():
        return True  # a folder or a glob is one Parquet data set: `parquet_files` lists it or says why not
    if p.suffix.lower() in TEXT_SUFFIXES or not p.is_file():
        return False
    try:
        with p.open("rb") as fh:
            return fh.read(4) == MAGIC
    except OSError:
        return False


def _parquet_in(folder: Path, suffixes: tuple[str, ...] = SUFFIXES) -> Iterator[Path]:
    """Parquet files (or files ending in `suffixes`) under `folder`, at any depth, leaving out hidden and
    bookkeeping files (., _)."""
    for suffix in suffixes:
        for f in folder.rglob(f"*{suffix}"):
            rel = f.relative_to(folder).parts
            if not any(part.startswith((".", "_")) for part in rel) and f.is_file():
                yield f


def parquet_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files of a Parquet file, folder or glob, in name order: every data file of a folder or glob, or a
    DataError (none at all; CSV files among them or instead of them, named, since the data set would be read
    without them). Both engines list their input here."""
    p = Path(path)
    text = str(path)
    if glob.has_magic(text):
        matched = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
        if not matched:
            raise DataError(f"{text}: no file matches; check the folder and the pattern (quote it in the shell)")
        texts = [f for f in matched if f.suffix.lower() in TEXT_SUFFIXES]
        found = [f for f in matched if f not in set(texts)]
        _refuse_text(text, "the glob matches", found, texts, Path(os.path.dirname(text) or "."))
        return found
    if p.is_dir():
        found = sorted(_parquet_in(p))
        _refuse_text(str(p), "the folder holds", found, sorted(_parquet_in(p, TEXT_SUFFIXES)), p)
        if not found:
            raise DataError(f"{p}: a folder without .parquet files; give a file, or a folder or glob of Parquet files")
        return found
    if not p.exists():
        raise DataError(f"{p}: file not found")
    return [p]


def _refuse_text(where: str, holds: str, parquet: list[Path], texts: list[Path], root: Path) -> None:
    """A folder or glob is one Parquet data set: CSV files in it are named, never silently left out."""
    if not texts:
        return
    names = ", ".join(os.path.relpath(f, root) for f in texts[:5]) + (
        f" and {len(texts) - 5} more" if len(texts) > 5 else ""
    )
    if parquet:
        raise DataError(
            f"{where}: {holds} CSV files ({names}) beside its Parquet files, and a folder or glob is read as one "
            "Parquet data set, without them: convert them to Parquet too, or move them out"
        )
    raise DataError(
        f"{where}: {holds} CSV files ({names}); a folder or glob is read as one Parquet data set: give one CSV "
        "file at a time, or convert the files to Parquet (pl.read_csv(f).write_parquet(...))"
    )


def _schema(file: Path) -> dict[str, pl.DataType]:
    try:
        return dict(pl.read_parquet_schema(file))
    except OSError as exc:
        raise DataError(
            f"{file}: cannot read the file ({exc.strerror or exc}); check that it exists and may be read"
        ) from None
    except Exception as exc:  # polars raises its own errors for a file that is not Parquet
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{file.name}: not a readable Parquet file ({first[:160]})") from None


def _rows(file: Path) -> int:
    try:
        return int(pl.scan_parquet(file).select(pl.len()).collect().item())  # from the footer, no data read
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{file.name}: not a readable Parquet file ({first[:160]})") from None


def _kind(dtype: pl.DataType) -> str:
    """How the loader takes a column: number, time, text, or other (not readable as a time series column)."""
    if dtype.is_numeric() or dtype in (pl.Boolean, pl.Null):
        return "number"
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return "time"
    if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return "text"
    return "other"


@dataclass
class ParquetSource:
    """A Parquet data set: its files, their rows and their common columns."""

    path: Path
    """As given: a file, a folder or a glob."""
    files: list[Path]
    offsets: np.ndarray
    """Rows before each file, and the total at the end."""
    schema: dict[str, pl.DataType]

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        files: list[Path] | None = None,
        on_unreadable: Callable[[Path, DataError], None] | None = None,
    ) -> ParquetSource:
        """Find the files (or take `files`, listed from `path` before) and read their footers (columns, types,
        rows); refuse files whose columns, types or time zones differ. A file whose footer cannot be read is a
        DataError, or, with `on_unreadable`, handed to it and left out (DataError when no file is left)."""
        footers: list[tuple[Path, dict[str, pl.DataType], int]] = []
        for f in parquet_files(path) if files is None else files:
            try:
                footers.append((f, _schema(f), _rows(f)))
            except DataError as exc:
                if on_unreadable is None:
                    raise
                on_unreadable(f, exc)
        if not footers:
            raise DataError(f"{path}: no readable Parquet file; check the files (each one is named above)")
        check_schemas([(f, s) for f, s, _ in footers])
        rows = [n for _, _, n in footers]
        offsets = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
        return cls(Path(path), [f for f, _, _ in footers], offsets, footers[0][1])

    @property
    def rows(self) -> int:
        return int(self.offsets[-1])

    @property
    def name(self) -> str:
        return self.files[0].name if len(self.files) == 1 else str(self.path)

    @property
    def columns(self) -> list[str]:
        return list(self.schema)

    def describe_rows(self, rows: np.ndarray, limit: int = 5) -> str:
        """'rows 3, 4' (one file) or 'rows 3, 4 of a.parquet, row 2 of b.parquet' for rows numbered from 1 over
        the whole data set."""
        if len(self.files) == 1:
            return rows_text(rows, limit)
        shown = np.asarray(rows[:limit], dtype=np.int64)
        more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
        which = np.searchsorted(self.offsets, shown - 1, side="right") - 1
        parts: list[str] = []
        start = 0
        for i in range(1, len(shown) + 1):
            if i == len(shown) or which[i] != which[start]:
                local = shown[start:i] - self.offsets[which[start]]
                word = "row" if len(local) == 1 else "rows"
                parts.append(f"{word} {', '.join(str(int(r)) for r in local)} of {self.files[which[start]].name}")
                start = i
        return ", ".join(parts) + more

    def scan(self, columns: list[str]) -> pl.LazyFrame:
        """The files one after another, only `columns`, numbers as Float64 (types may differ between files)."""
        frames = [pl.scan_parquet(f).select([_normalise(c, self.schema[c]) for c in columns]) for f in self.files]
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")

    def read(self, columns: list[str] | None = None, ids: tuple[str, ...] = ()) -> RawTable:
        """The data set as the loader's RawTable: `columns` (default: every column the loader can use), ids as
        categories, numbers as Float64, times as dates or datetimes."""
        if columns is None:
            columns = [c for c, t in self.schema.items() if _kind(t) != "other"]
        else:
            _refuse_other(self.name, {c: self.schema[c] for c in columns})
        return raw_from_frame(self.collect(columns), self.path, name=self.name, ids=ids)

    def collect(self, columns: list[str]) -> pl.DataFrame:
        """`scan(columns)` read; any failure of the read (a corrupt page, a type polars cannot read) is a
        DataError naming the data set."""
        try:
            return self.scan(columns).collect()
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(f"{self.name}: cannot read the Parquet data ({first[:160]})") from None

    def rows_described(self) -> contextlib.AbstractContextManager[None]:
        """Within the block, messages that name rows (core.messages.describe_lines) name this data set's files and
        rows."""
        return rows_named(self.describe_rows)


def check_schemas(schemas: list[tuple[Path, dict[str, pl.DataType]]]) -> None:
    """Every file of a data set has the first file's columns, each of the same kind (number, time, text) and,
    for times, the same type and time zone; a DataError names the first file that differs and how."""
    first_file, first = schemas[0]
    for f, s in schemas[1:]:
        missing = [c for c in first if c not in s]
        extra = [c for c in s if c not in first]
        other = [c for c in first if c in s and _type_key(s[c]) != _type_key(first[c])]
        if missing or extra or other:
            what = (
                f"lacks {', '.join(map(repr, missing))}"
                if missing
                else f"has {', '.join(map(repr, extra))} too"
                if extra
                else f"has '{other[0]}' as {s[other[0]]}, not {first[other[0]]}"
            )
            raise DataError(
                f"{f.name}: its columns differ from {first_file.name}'s (it {what}); every file of "
                "a data set needs the same columns, types and time zones"
            )


def _type_key(dtype: pl.DataType) -> tuple[str, str | None]:
    """What must agree between files: the kind, and for times whether they are dates and their time zone."""
    if isinstance(dtype, pl.Datetime):
        return "datetime", dtype.time_zone
    return _kind(dtype), "date" if dtype == pl.Date else None


@dataclass(frozen=True)
class ReadPlan:
    """What is read of a data set for a loader configuration: the same for both engines."""

    columns: list[str] | None
    """The columns read (None: every column the loader can use)."""
    ids: tuple[str, ...]
    """Columns read as ids (categories)."""
    id_col: str | None
    """The series id column the loader takes (the configured one, or the first with an id's name): None means
    one series."""


def read_plan(source: ParquetSource, cfg: DataConfig) -> ReadPlan:
    """What both engines read of a Parquet data set for `cfg`, and which column tells the series apart: the
    configured id column, or, when there is none (a model trained on one series), the first column named like an
    id (`columns.ID_NAMES`), as for a CSV. Refuses a data set without rows and columns of types the loader
    cannot use (binary, nested, decimals beyond 38 digits)."""
    if not source.rows:
        raise DataError(f"{source.name}: no data rows")
    ids = tuple(c for c in source.columns if (c == cfg.id_col or c.lower() in ID_NAMES) and c != cfg.time_col)
    columns = columns_for(source.columns, cfg, ID_NAMES, TIME_NAMES)
    if columns is not None:
        _refuse_other(source.name, {c: source.schema[c] for c in columns})
    time_col = cfg.time_col or next((c for c in source.columns if c.lower() in TIME_NAMES), None)
    return ReadPlan(columns, ids, id_column(columns or source.columns, cfg.id_col, time_col))


def rows_text(rows: np.ndarray, limit: int = 5) -> str:
    """'row 3' or 'rows 3, 4, 9 and 2 more': rows of one Parquet file, numbered from 1."""
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{'row' if len(rows) == 1 else 'rows'} {', '.join(str(int(r)) for r in rows[:limit])}{more}"


@contextlib.contextmanager
def rows_named(describe: Callable[[np.ndarray, int], str] = rows_text) -> Iterator[None]:
    """Within the block, core.messages.describe_lines names rows with `describe` (rows of a Parquet file, not lines)."""
    token = ROW_LABELS.set(describe)
    try:
        yield
    finally:
        ROW_LABELS.reset(token)


def _normalise(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    kind = _kind(dtype)
    if kind == "number":  # NaN is a missing cell, as null is
        return col.cast(pl.Float64).fill_nan(None)
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        return col.cast(pl.String)
    return col


def _refuse_other(file: str, schema: dict[str, pl.DataType]) -> None:
    for c, t in schema.items():
        if _kind(t) == "other":
            raise DataError(
                f"{file}: column '{c}' holds {t} values; a time series column holds numbers, dates, "
                "datetimes or text (ids)"
            )


class _NamedTable(RawTable):
    """A RawTable whose messages name a data set (a folder or glob), not only a file."""

    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.path.name


def raw_from_frame(
    frame: pl.DataFrame, path: Path, name: str | None = None, ids: tuple[str, ...] = (), lines: np.ndarray | None = None
) -> RawTable:
    """A polars frame (read from Parquet, or a partition of a larger data set) as the loader's RawTable: numbers
    as Float64 (nulls and NaN are missing cells; infinities are refused), id columns as categories, rows numbered
    from 1 unless `lines` numbers them."""
    if not frame.height:
        raise DataError(f"{name or path.name}: no data rows")
    label = name or path.name
    _refuse_other(label, dict(frame.schema))
    frame = frame.select([_normalise(c, t) for c, t in frame.schema.items()])
    if lines is None:
        lines = np.arange(1, frame.height + 1, dtype=np.int64)
    for c, t in frame.schema.items():
        if t == pl.Float64 and frame[c].is_infinite().any():
            bad = frame[c].is_infinite().fill_null(False).to_numpy()
            raise DataError(
                f"{label}: column '{c}' has infinite values on {describe_lines(lines[bad])}; fix them or "
                "leave the cells empty (null) to have them interpolated"
            )
    cats = [c for c in ids if c in frame.columns]
    if cats:
        frame = frame.with_columns(pl.col(c).cast(pl.String).cast(pl.Categorical) for c in cats)
    preview = (
        frame if frame.height <= 2 * PREVIEW_ROWS else pl.concat([frame.head(PREVIEW_ROWS), frame.tail(PREVIEW_ROWS)])
    )
    preview = preview.select(pl.all().cast(pl.String))
    raw = _NamedTable(path, frame, lines, ",", preview)
    raw.label = label
    return raw


def columns_for(
    names: list[str], cfg: DataConfig, id_names: tuple[str, ...], time_names: tuple[str, ...]
) -> list[str] | None:
    """The columns the loader reads for `cfg`, or None when it must see them all (it chooses the targets, the
    features or the time column itself, or a column it is told to read is missing: its message lists all)."""
    if not cfg.targets or cfg.features == "all":
        return None
    times = [cfg.time_col] if cfg.time_col else [c for c in names if c.lower() in time_names]
    if not times:
        return None
    ids = [cfg.id_col] if cfg.id_col else [c for c in names if c.lower() in id_names and c not in times]
    want = {*times, *ids, *cfg.targets, *cfg.features, *cfg.future}
    if any(c not in names for c in want):
        return None
    return [c for c in names if c in want]


def time_column(name: str, stamps: np.ndarray, utc: bool) -> pl.Series:
    """Forecast timestamps as a typed Parquet column: datetimes in microseconds, in UTC when the data's were."""
    s = pl.Series(name, np.asarray(stamps, dtype="datetime64[us]"))
    return s.dt.replace_time_zone("UTC") if utc else s


def typed_times(table: pl.DataFrame, time_col: str) -> pl.DataFrame:
    """A forecast table whose time column, ISO text as `timefreq.format_times` writes it, becomes datetimes (in
    UTC when the text ends in Z)."""
    text = table[time_col]
    if text.dtype != pl.String:
        return table
    utc = bool(text.str.ends_with("Z").any())
    stamps = text.str.strip_suffix("Z").str.to_datetime(time_unit="us")
    return table.with_columns(stamps.dt.replace_time_zone("UTC") if utc else stamps)


def is_parquet_name(path: str | os.PathLike[str]) -> bool:
    """Whether an output path asks for Parquet (its name ends in .parquet or .pq)."""
    return Path(path).suffix.lower() in SUFFIXES


def write_parquet(frame: pl.DataFrame, path: str | os.PathLike[str], example: str = "forecast.parquet") -> Path:
    """Write one Parquet file with `safeio.atomic_write`: a temporary file beside it renamed over it when whole."""

    try:
        return safeio.atomic_write(path, lambda tmp: frame.write_parquet(tmp), example=example)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; choose another --out path") from None


@contextlib.contextmanager
def parquet_sink(path: str | os.PathLike[str]) -> Iterator[Callable[[pl.DataFrame], None]]:
    """Collect forecast tables and write them as one Parquet file at the end (atomically; nothing is written when
    the block fails)."""
    tables: list[pl.DataFrame] = []
    yield tables.append
    write_parquet(pl.concat(tables) if tables else pl.DataFrame(), path)
