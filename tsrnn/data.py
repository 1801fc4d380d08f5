"""Load a CSV into validated, gap-filled series on a regular grid (polars and numpy, never torch)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from . import grid
from .config import DataConfig
from .csvio import MISSING_TOKENS, RawTable, describe_lines, read_header, read_raw, shorten
from .errors import ConfigError, DataError
from .known import KnownSpec
from .sessions import SessionCalendar, detect_sessions
from .timefreq import DAY, TIME_NAMES, Frequency, format_times, infer_frequency, looks_like_time, parse_times

ID_NAMES = ("id", "unique_id", "series", "series_id", "item_id")
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_COMMA_INT = re.compile(r"^[+-]?\d+$")


@dataclass
class LoadReport:
    """What the loader found and did, in words a user can read."""

    rows: int = 0
    sorted_rows: bool = False
    filled_cells: dict[str, int] = field(default_factory=dict)
    filled_rows: int = 0
    trimmed_rows: int = 0
    longest_gap: int = 0
    longest_gap_where: str = ""
    decimal_comma: bool = False
    warnings: list[str] = field(default_factory=list)
    sessions: str = ""
    """The session calendar the data follows, in words ('' when it has none)."""
    outside_sessions: int = 0
    """Rows left out because they fall in a closed slot of the session calendar."""
    outside_example: str = ""
    tail_dropped: dict[str, tuple[int, np.datetime64]] = field(default_factory=dict)
    """Series whose last rows had an empty value cell and were dropped: rows dropped and the first dropped time."""

    def notes(self) -> list[str]:
        out = []
        if self.sessions:
            out.append(f"sessions: {self.sessions}")
        if self.outside_sessions:
            out.append(f"{self.outside_sessions} rows outside the sessions (e.g. {self.outside_example}) were left out")
        if self.decimal_comma:
            out.append("read ',' as the decimal separator")
        if self.sorted_rows:
            out.append("rows were not in time order; sorted them")
        if self.filled_rows:
            out.append(
                f"{self.filled_rows} missing time steps inserted and interpolated "
                f"(longest gap {self.longest_gap} steps)"
            )
        for col, n in self.filled_cells.items():
            if n:
                out.append(f"{n} empty cells in '{col}' filled by linear interpolation")
        if self.trimmed_rows:
            out.append(f"{self.trimmed_rows} rows at the start or end with no value were dropped")
        return out + self.warnings


@dataclass
class SeriesSet:
    """One or many series on the same regular grid; channels are targets first, then features."""

    path: Path
    time_col: str
    id_col: str | None
    targets: list[str]
    features: list[str]
    freq: Frequency
    utc: bool
    ids: list[str]
    times: list[np.ndarray]
    values: list[np.ndarray]
    report: LoadReport
    raw_preview: pl.DataFrame | None = None
    filled: list[np.ndarray] | None = None
    """Per series, the steps where at least one value was interpolated (None: none was)."""
    known_spec: KnownSpec = field(default_factory=KnownSpec)
    """The known-in-advance inputs (calendar features, holiday flags) that `known` holds."""
    known: list[np.ndarray] | None = None
    """Per series, (T, known_spec.n) float32 known inputs at each step (None: none)."""
    future_names: list[str] = field(default_factory=list)
    """Columns known in advance (--future), loaded beside the values."""
    future: list[np.ndarray] | None = None
    """Per series, (T, len(future_names)) values of those columns."""

    def with_known(self, spec: KnownSpec) -> SeriesSet:
        """The same series with the known inputs of `spec` at every step: the calendar's computed, then the
        future columns as loaded."""
        if list(spec.future) != self.future_names:
            theirs = ", ".join(self.future_names) or "none"
            raise ConfigError(
                f"{self.path.name}: the known inputs name future columns "
                f"{', '.join(spec.future) or 'none'}, the data has {theirs}"
            )
        if not spec.n:
            return replace(self, known_spec=spec, known=None)
        flat = spec.compute(np.concatenate(self.times))
        known = np.split(flat, np.cumsum(self.lengths)[:-1])
        if self.future is not None:
            known = [np.concatenate([k, f.astype(np.float32)], axis=1) for k, f in zip(known, self.future, strict=True)]
        return replace(self, known_spec=spec, known=known)

    def subset(self, keep: list[int]) -> SeriesSet:
        """Only the series numbered in `keep`, in that order."""
        if keep == list(range(self.n_series)):
            return self

        def pick(xs: list[np.ndarray] | None) -> list[np.ndarray] | None:
            return None if xs is None else [xs[i] for i in keep]

        return replace(
            self,
            ids=[self.ids[i] for i in keep],
            times=[self.times[i] for i in keep],
            values=[self.values[i] for i in keep],
            filled=pick(self.filled),
            known=pick(self.known),
            future=pick(self.future),
        )

    def model_values(self, series: int) -> np.ndarray:
        """(T, channels + known) values of one series with its known inputs beside them: what windows cut."""
        v = self.values[series]
        return v if self.known is None else np.concatenate([v, self.known[series]], axis=1)

    @property
    def channels(self) -> list[str]:
        return self.targets + self.features

    @property
    def n_series(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(v) for v in self.values])

    def span(self) -> tuple[np.datetime64, np.datetime64]:
        return min(t[0] for t in self.times), max(t[-1] for t in self.times)

    def drop_last(self, steps: int) -> SeriesSet:
        """The same series without their last `steps` time steps (data before a forecast origin)."""
        if steps == 0:
            return self

        def cut(xs: list[np.ndarray] | None) -> list[np.ndarray] | None:
            return None if xs is None else [x[:-steps] for x in xs]

        return replace(
            self,
            times=[t[:-steps] for t in self.times],
            values=[v[:-steps] for v in self.values],
            filled=cut(self.filled),
            known=cut(self.known),
            future=cut(self.future),
        )

    def frame(self, series: int = 0) -> pl.DataFrame:
        """One series as a polars table (time and every channel)."""
        data = {self.time_col: self.times[series]}
        data.update({c: self.values[series][:, i] for i, c in enumerate(self.channels)})
        return pl.DataFrame(data)


def resolve_demo(path: str | os.PathLike[str]) -> Path:
    """'demo' means the bundled airline passengers file."""
    if str(path) == "demo":
        return demo_path()
    return Path(path)


def demo_path() -> Path:
    return Path(__file__).parent / "datasets" / "airline_passengers.csv"


def load_series(path: str | os.PathLike[str], config: DataConfig | None = None) -> SeriesSet:
    """Read, validate and regularise a CSV time series, in five stages with one job each: read the table; parse
    the times and infer the frequency or the session calendar; lay each series on its grid; fill the gaps;
    make the series set."""
    cfg = config or DataConfig()
    file = resolve_demo(path)
    if file.suffix.lower() not in (".csv", ".tsv", ".txt"):
        from .parquetio import is_parquet, load_parquet

        if is_parquet(file):  # a Parquet file, folder or glob: read lazily, then the same stages
            return load_parquet(file, cfg)
    return _stages(read_table(file, cfg), cfg)


def load_raw(raw: RawTable, config: DataConfig | None = None) -> SeriesSet:
    """`load_series` for a table already read (a Parquet data set, one partition of a larger one)."""
    cfg = config or DataConfig()
    return _stages(choose_columns(raw, cfg), cfg)


def _stages(table: Table, cfg: DataConfig) -> SeriesSet:
    rows = parse_rows(table, cfg)
    flat = lay_grid(rows, table)
    fill_gaps(flat, table, rows.names, cfg.max_gap)
    return series_set(table, rows, flat)


@dataclass
class Table:
    """Stage 1: the file's value columns as numbers, its time and id columns as read, and each row's line."""

    raw: RawTable
    time_col: str
    id_col: str | None
    targets: list[str]
    features: list[str]
    values: np.ndarray
    report: LoadReport
    future: list[str] = field(default_factory=list)
    """Known-in-advance columns, laid on the grid with the values (after them) and split off at the end."""

    @property
    def channels(self) -> list[str]:
        return self.targets + self.features + self.future


@dataclass
class Rows:
    """Stage 2: rows sorted by series and time, without duplicates, and the grid they follow."""

    codes: np.ndarray
    times: np.ndarray
    values: np.ndarray
    lines: np.ndarray
    names: list[str]
    freq: Frequency
    utc: bool


def read_table(file: Path, cfg: DataConfig) -> Table:
    """Read the CSV and choose its columns: time, id, targets and features (values as float64)."""
    header = read_header(file)
    ids = [c for c in header if (c == cfg.id_col or c.lower() in ID_NAMES) and c != cfg.time_col]
    raw = read_raw(file, typed=True, ids=ids, times=[c for c in header if c == cfg.time_col or c.lower() in TIME_NAMES])
    return choose_columns(raw, cfg)


def choose_columns(raw: RawTable, cfg: DataConfig) -> Table:
    """Choose the time, id, target and feature columns of a table as read; values as float64."""
    report = LoadReport(rows=raw.frame.height)
    time_col = _pick_time_col(raw, cfg.time_col)
    id_col = _pick_id_col(raw, cfg.id_col, time_col)
    numeric, report.decimal_comma = _numeric_columns(raw, exclude={time_col, id_col})
    targets = _pick_targets(raw, cfg.targets, numeric, time_col, id_col)
    features = _pick_features(raw, cfg.features, numeric, targets, cfg.future)
    future = _pick_future(raw, cfg.future, numeric, targets)
    channels = targets + features + future
    values = np.column_stack([numeric.pop(c) for c in channels]).astype(np.float64, copy=False)
    del numeric
    _refuse_huge(values, channels, raw.lines, raw.name)
    # Each column goes as soon as it is parsed: a long file is held once, not twice.
    raw.frame = raw.frame.select(time_col, *([id_col] if id_col else []))
    report.filled_cells = {c: int(n) for c, n in zip(channels, np.isnan(values).sum(axis=0), strict=True)}
    return Table(raw, time_col, id_col, targets, features, values, report, future)


def parse_rows(table: Table, cfg: DataConfig) -> Rows:
    """Parse the times and ids, sort the rows, refuse duplicates, infer the frequency and, for intraday data
    observed only while something is open, its session calendar."""
    raw, report = table.raw, table.report
    times, utc = parse_times(raw.frame[table.time_col], raw.name, raw.lines)
    raw.frame = raw.frame.drop(table.time_col)
    names, codes = _series_codes(raw.frame[table.id_col] if table.id_col else None, len(times))
    raw.frame = raw.frame.clear()
    values, lines = table.values, raw.lines
    table.values = np.zeros((0, values.shape[1]))
    if not _in_order(codes, times):
        order = np.lexsort((times, codes))
        report.sorted_rows = _unsorted_within(codes, times)
        codes, times, values, lines = codes[order], times[order], values[order], lines[order]
        del order
    _refuse_duplicates(codes, times, lines, names, raw.name, table.time_col)
    freq = infer_frequency(times, codes, raw.name)
    if isinstance(cfg.sessions, SessionCalendar):
        freq = freq.with_sessions(cfg.sessions)
    elif cfg.sessions not in ("auto", "none"):
        raise ConfigError(f"--sessions must be auto or none, got '{cfg.sessions}'")
    elif cfg.sessions == "auto" and freq.step_us and freq.step_us < DAY:
        found = detect_sessions(times, freq.step_us, codes)
        if found is not None:
            freq = freq.with_sessions(found)
    if freq.sessions is not None:
        report.sessions = freq.sessions.describe()
    return Rows(codes, times, values, lines, names, freq, utc)


def lay_grid(rows: Rows, table: Table) -> grid.Flat:
    """Every timestamp must sit on its series' grid (session data: rows in closed slots are left out and
    counted); missing steps become NaN rows; incomplete ends go."""
    r, report = rows, table.report
    if r.freq.sessions is not None:
        _, open_slot = r.freq.sessions.index(r.times, r.times[:1])
        if not open_slot.all():
            report.outside_sessions = int(np.count_nonzero(~open_slot))
            report.outside_example = str(r.times[np.flatnonzero(~open_slot)[0]])
            r.codes, r.times, r.values, r.lines = (
                r.codes[open_slot],
                r.times[open_slot],
                r.values[open_slot],
                r.lines[open_slot],
            )
    return _regularise(r, table.raw.name, table.time_col, report)


def fill_gaps(flat: grid.Flat, table: Table, names: list[str], max_gap: int | None) -> None:
    """Interpolate every missing cell (the rows that were filled stay marked) and measure the longest gap."""
    _interpolate(flat, table.channels, names, table.raw.name, max_gap, table.report)
    flat.values = flat.values.astype(np.float32)


def series_set(table: Table, rows: Rows, flat: grid.Flat) -> SeriesSet:
    """The loaded series, one array each; known-in-advance columns apart from the values."""
    out_times, out_values = flat.split()
    filled = None
    if flat.filled is not None and flat.filled.any():
        filled = np.split(flat.filled, flat.offsets[1:-1])
    future = None
    if table.future:
        C = len(table.targets) + len(table.features)
        future = [np.ascontiguousarray(v[:, C:]) for v in out_values]
        out_values = [np.ascontiguousarray(v[:, :C]) for v in out_values]
    return SeriesSet(
        table.raw.path,
        table.time_col,
        table.id_col,
        table.targets,
        table.features,
        rows.freq,
        rows.utc,
        [str(x) for x in rows.names],
        out_times,
        out_values,
        table.report,
        table.raw.preview,
        filled,
        future_names=list(table.future),
        future=future,
    )


def _refuse_huge(values: np.ndarray, channels: list[str], lines: np.ndarray, file: str) -> None:
    """Series are kept as 32-bit floats: a value beyond their range would become infinite."""
    limit = float(np.finfo(np.float32).max)
    if not len(values):
        return
    far = np.maximum(np.fmax.reduce(values, axis=0), -np.fmin.reduce(values, axis=0))  # NaN-blind, no copy
    for j in np.flatnonzero(far > limit):
        c = channels[j]
        huge = np.abs(values[:, j]) > limit
        if huge.any():
            raise DataError(
                f"{file}: column '{c}' has values too large for 32-bit floats (above {limit:.3g}) on "
                f"{describe_lines(lines[huge])} (e.g. {values[huge, j][0]:g}); rescale the column"
            )


def _series_codes(ids: pl.Series | None, rows: int) -> tuple[list[str], np.ndarray]:
    """The series names in order of first appearance, and each row's series number."""
    if ids is None:
        return [""], np.zeros(rows, dtype=np.int64)
    if ids.null_count():
        ids = ids.cast(pl.String).fill_null("")
    runs = ids.rle()  # series written one after another: one run each, no lookup of every row needed
    names = runs.struct.field("value")
    if names.n_unique() == len(names):
        lengths = runs.struct.field("len").to_numpy()
        return names.to_list(), np.repeat(np.arange(len(names), dtype=np.int64), lengths)
    ids = ids.cast(pl.String)
    names = ids.unique(maintain_order=True)
    codes = ids.replace_strict(names, pl.int_range(len(names), eager=True), return_dtype=pl.Int64).to_numpy()
    return names.to_list(), codes


def _in_order(codes: np.ndarray, times: np.ndarray) -> bool:
    """Whether rows already come series by series (in order of first appearance), each in time order."""
    step = np.diff(codes)
    return bool(np.all((step > 0) | ((step == 0) & (times[1:] > times[:-1]))))


def _pick_time_col(raw: RawTable, wanted: str | None) -> str:
    cols = raw.frame.columns
    if wanted:
        if wanted not in cols:
            raise ConfigError(f"{raw.name}: no column '{wanted}' for the time; columns are {', '.join(cols)}")
        return wanted
    by_name = [c for c in cols if c.lower() in TIME_NAMES]
    if by_name:
        return by_name[0]
    parsed = [
        c
        for c in cols
        if raw.frame[c].dtype == pl.Date
        or isinstance(raw.frame[c].dtype, pl.Datetime)
        or (raw.frame[c].dtype == pl.String and looks_like_time(raw.frame[c]))
    ]
    if len(parsed) == 1:
        return parsed[0]
    hint = f"candidates: {', '.join(parsed)}" if parsed else "no column holds ISO dates"
    raise DataError(f"{raw.name}: cannot tell which column is the time ({hint}); pass --time-col")


def _pick_id_col(raw: RawTable, wanted: str | None, time_col: str) -> str | None:
    cols = raw.frame.columns
    if wanted:
        if wanted not in cols:
            raise ConfigError(f"{raw.name}: no column '{wanted}' for the series id; columns are {', '.join(cols)}")
        if wanted == time_col:
            raise ConfigError(f"{raw.name}: '{wanted}' is the time column; the id column must be another")
        return wanted
    found = [c for c in cols if c.lower() in ID_NAMES and c != time_col]
    return found[0] if found else None


def _numeric_columns(raw: RawTable, exclude: set[str | None]) -> tuple[dict[str, np.ndarray], bool]:
    """Parse every value column that is meant to be numeric; refuse stray text in it."""
    cols = [c for c in raw.frame.columns if c not in exclude]
    text_cols = [c for c in cols if raw.frame[c].dtype == pl.String]
    decimal_comma = raw.delimiter != "," and _uses_decimal_comma(raw.frame, text_cols)
    out: dict[str, np.ndarray] = {}
    for c in cols:
        if raw.frame[c].dtype in (pl.Date, pl.Categorical) or isinstance(raw.frame[c].dtype, pl.Datetime):
            continue  # read as dates or ids: not a value column
        if c not in text_cols:  # read as numbers already: finite values and nulls
            if raw.frame[c].null_count() < raw.frame.height:
                out[c] = raw.frame[c].to_numpy().astype(np.float64, copy=False)
            continue
        parsed, bad = _to_float(raw.frame[c], decimal_comma)
        n_present = int((~_missing(raw.frame[c])).sum())
        if n_present == 0 or (bad.sum() > 0.5 * n_present):
            continue  # a text column (labels, categories): not a value column
        if bad.any():
            raise DataError(_bad_token_message(raw, c, bad, decimal_comma))
        out[c] = parsed
    return out, decimal_comma


def _missing(s: pl.Series) -> np.ndarray:
    text = s.str.strip_chars()
    return (text.is_null() | text.is_in(list(MISSING_TOKENS))).to_numpy()


def _uses_decimal_comma(frame: pl.DataFrame, cols: list[str]) -> bool:
    for c in cols:
        sample = frame[c].drop_nulls().str.strip_chars().head(500).to_list()
        if any(_DECIMAL_COMMA.match(s) for s in sample):
            return True
    return False


def _to_float(s: pl.Series, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """Floats with NaN for missing cells, and a mask of cells that are not numbers."""
    text = s.str.strip_chars()
    missing = _missing(s)
    if decimal_comma:
        ok = text.str.contains(_DECIMAL_COMMA.pattern) | text.str.contains(_COMMA_INT.pattern)
        text = pl.Series(
            np.where(
                ok.fill_null(False).to_numpy(),
                text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True).to_numpy(),
                "x",
            )
        )
    values = text.cast(pl.Float64, strict=False).to_numpy()
    values = np.array(values, dtype=np.float64)
    bad = ~missing & ~np.isfinite(values)
    values[missing] = np.nan
    return values, bad


def _bad_token_message(raw: RawTable, col: str, bad: np.ndarray, decimal_comma: bool) -> str:
    tokens = raw.frame[col].filter(pl.Series(bad)).head(3).to_list()
    shown = ", ".join(repr(shorten(t)) for t in tokens)
    msg = f"{raw.name}: column '{col}' has non-numeric values on {describe_lines(raw.lines[bad])} ({shown})"
    if decimal_comma:
        return msg + "; the file uses ',' as the decimal separator, so write numbers like 10,9 or 1.234,5"
    if any("," in str(t) for t in tokens):
        return msg + "; ',' looks like a decimal separator: use '.' or a ';'-separated file"
    return msg + "; fix them or leave the cells empty to have them interpolated"


def _pick_targets(
    raw: RawTable, wanted: tuple[str, ...], numeric: dict[str, np.ndarray], time_col: str, id_col: str | None
) -> list[str]:
    for c in wanted:
        if c not in raw.frame.columns:
            raise ConfigError(f"{raw.name}: no column '{c}' to forecast; columns are {', '.join(raw.frame.columns)}")
        if c in (time_col, id_col) or c not in numeric:
            raise DataError(f"{raw.name}: column '{c}' is not numeric, so it cannot be a target")
    if wanted:
        return list(dict.fromkeys(wanted))
    if len(numeric) == 1:
        return list(numeric)
    if "y" in numeric:  # the long-format convention of unique_id, ds, y
        return ["y"]
    if not numeric:
        raise DataError(f"{raw.name}: no numeric value column found (columns: {', '.join(raw.frame.columns)})")
    raise ConfigError(
        f"{raw.name}: several numeric columns ({', '.join(numeric)}); choose what to forecast with --target COL"
    )


def _pick_features(
    raw: RawTable,
    wanted: tuple[str, ...] | str,
    numeric: dict[str, np.ndarray],
    targets: list[str],
    future: tuple[str, ...] = (),
) -> list[str]:
    if wanted == "all":
        return [c for c in numeric if c not in targets and c not in future]
    out = []
    for c in wanted:
        if c not in raw.frame.columns:
            raise ConfigError(f"{raw.name}: no feature column '{c}'; columns are {', '.join(raw.frame.columns)}")
        if c not in numeric:
            raise DataError(f"{raw.name}: feature column '{c}' is not numeric")
        if c not in targets and c not in out:
            out.append(c)
    return out


def _pick_future(
    raw: RawTable, wanted: tuple[str, ...], numeric: dict[str, np.ndarray], targets: list[str]
) -> list[str]:
    out = []
    for c in wanted:
        if c not in raw.frame.columns:
            raise ConfigError(f"{raw.name}: no column '{c}' for --future; columns are {', '.join(raw.frame.columns)}")
        if c not in numeric:
            raise DataError(f"{raw.name}: --future column '{c}' is not numeric")
        if c in targets:
            raise ConfigError(
                f"{raw.name}: '{c}' is a target; a --future column must be known in advance, not forecast"
            )
        if c not in out:
            out.append(c)
    return out


def _unsorted_within(codes: np.ndarray, times: np.ndarray) -> bool:
    """Only an order problem within a series counts as unsorted; series may come in any order."""
    same = codes[1:] == codes[:-1]
    return bool(np.any(same & (times[1:] < times[:-1])))


def _series_name(names: list[str], code: int) -> str:
    return f" in series '{names[code]}'" if len(names) > 1 else ""


def _refuse_duplicates(
    codes: np.ndarray, times: np.ndarray, lines: np.ndarray, names: list[str], file: str, time_col: str
) -> None:
    dup = np.flatnonzero((codes[1:] == codes[:-1]) & (times[1:] == times[:-1]))
    if not dup.size:
        return
    first = dup[codes[dup] == codes[dup[0]]]
    shown = ", ".join(str(x) for x in np.unique(times[first])[:5])
    raise DataError(
        f"{file}: duplicated timestamps{_series_name(names, int(codes[dup[0]]))} in column '{time_col}' ({shown}; "
        f"{describe_lines(np.sort(np.r_[lines[first], lines[first + 1]]))}); keep one row per time"
    )


def _regularise(r: Rows, file: str, time_col: str, report: LoadReport) -> grid.Flat:
    codes, times, values, lines, freq, names = r.codes, r.times, r.values, r.lines, r.freq, r.names
    starts = grid.series_starts(codes, times, len(names))
    idx, on_grid = grid.rows_on_grid(times, codes, starts, freq)
    if not on_grid.all():
        off = np.flatnonzero(~on_grid)
        raise DataError(
            f"{file}: column '{time_col}'{_series_name(names, int(codes[off[0]]))} is not on a regular "
            f"{freq.label} grid ({describe_lines(lines[off])}, e.g. {times[off[0]]}); resample the data to one step"
        )
    _refuse_huge_grid(codes, times, idx, lines, freq, names, file, time_col)
    flat, report.filled_rows = grid.fill_grid(codes, idx, values, starts, freq, times)
    flat, trimmed = grid.trim_incomplete_ends(flat)
    report.trimmed_rows = trimmed.rows
    if trimmed.empty.size:
        raise DataError(f"{file}: series '{names[trimmed.empty[0]]}' has no row with every value column filled")
    report.tail_dropped = {
        str(names[c]): (int(trimmed.tail[c]), trimmed.tail_from[c]) for c in np.flatnonzero(trimmed.tail)
    }
    return flat


GRID_ROWS = 1_000_000
GRID_RATIO = 100
"""A grid of more than GRID_ROWS rows and GRID_RATIO times the rows of the file is refused: its gaps are
typos in the timestamps (a wrong year), not data to interpolate."""


def _refuse_huge_grid(
    codes: np.ndarray,
    times: np.ndarray,
    idx: np.ndarray,
    lines: np.ndarray,
    freq: Frequency,
    names: list[str],
    file: str,
    time_col: str,
) -> None:
    """Refuse timestamps so far apart that filling the steps between them would dwarf the data."""
    last = np.r_[np.flatnonzero(codes[1:] != codes[:-1]), len(codes) - 1]  # rows are sorted by series
    size = int(idx[last].sum()) + len(last)
    if size <= max(GRID_ROWS, GRID_RATIO * len(times)):
        return
    jump = np.diff(idx)
    jump[codes[1:] != codes[:-1]] = 0
    k = int(np.argmax(jump))
    raise DataError(
        f"{file}: column '{time_col}'{_series_name(names, int(codes[k]))} jumps {int(jump[k]):,} steps of the "
        f"{freq.label} grid from {times[k]} (line {lines[k]}) to {times[k + 1]} (line {lines[k + 1]}); filling "
        f"the steps between would make {size:,} rows out of {len(times):,}: fix the timestamps or split the file"
    )


def _interpolate(
    flat: grid.Flat, channels: list[str], names: list[str], file: str, max_gap: int | None, report: LoadReport
) -> None:
    for gap in grid.interpolate(flat):
        if gap is None or gap.length <= report.longest_gap:
            continue
        code = int(np.searchsorted(flat.offsets, gap.row, side="right") - 1)
        report.longest_gap = gap.length
        report.longest_gap_where = (
            f"'{channels[gap.column]}'{_series_name(names, code)} is missing for {gap.length} consecutive steps "
            f"({' to '.join(format_times(flat.times[[gap.row, gap.row + gap.length - 1]], False))})"
        )
    if max_gap is not None and report.longest_gap > max_gap:
        raise gap_error(file, report.longest_gap_where, max_gap)


def gap_error(file: str, where: str, input_len: int) -> DataError:
    return DataError(
        f"{file}: {where}, longer than the input window ({input_len}); interpolating it would "
        "invent the data: split the file at the gap or fill it before training"
    )
