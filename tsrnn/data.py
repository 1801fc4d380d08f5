"""Load a CSV into validated, gap-filled series on a regular grid (polars and numpy, never torch)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from .config import DataConfig
from .csvio import MISSING_TOKENS, RawTable, describe_lines, read_raw
from .errors import ConfigError, DataError
from .timefreq import TIME_NAMES, Frequency, infer_frequency, looks_like_time, parse_times, time_grid

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

    def notes(self) -> list[str]:
        out = []
        if self.decimal_comma:
            out.append("read ',' as the decimal separator")
        if self.sorted_rows:
            out.append("rows were not in time order; sorted them")
        if self.filled_rows:
            out.append(f"{self.filled_rows} missing time steps inserted and interpolated "
                       f"(longest gap {self.longest_gap} steps)")
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
        return replace(self, times=[t[:-steps] for t in self.times], values=[v[:-steps] for v in self.values])

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
    """Read, validate and regularise a CSV time series."""
    cfg = config or DataConfig()
    raw = read_raw(resolve_demo(path))
    frame = raw.frame
    report = LoadReport(rows=frame.height)
    time_col = _pick_time_col(raw, cfg.time_col)
    id_col = _pick_id_col(raw, cfg.id_col, time_col)
    numeric, report.decimal_comma = _numeric_columns(raw, exclude={time_col, id_col})
    targets = _pick_targets(raw, cfg.targets, numeric, time_col, id_col)
    features = _pick_features(raw, cfg.features, numeric, targets)
    channels = targets + features
    times, utc = parse_times(frame[time_col], raw.name, raw.lines)
    ids = frame[id_col].fill_null("").to_numpy().astype(str) if id_col else np.zeros(frame.height, dtype=str)
    values = np.column_stack([numeric[c] for c in channels]).astype(np.float64)
    groups = _group(ids, times, values, raw, report, time_col)
    freq = infer_frequency([g[1] for g in groups], raw.name)
    _check_grid(groups, freq, raw, time_col)
    out_ids, out_times, out_values = [], [], []
    for sid, t, v, _ in groups:
        t, v = _regularise(sid, t, v, freq, channels, raw.name, cfg.max_gap, report)
        out_ids.append(sid)
        out_times.append(t)
        out_values.append(v.astype(np.float32))
    preview = pl.concat([frame.head(5), frame.tail(5)]) if frame.height > 10 else frame
    return SeriesSet(raw.path, time_col, id_col, targets, features, freq, utc, out_ids, out_times,
                     out_values, report, preview)


def _pick_time_col(raw: RawTable, wanted: str | None) -> str:
    cols = raw.frame.columns
    if wanted:
        if wanted not in cols:
            raise ConfigError(f"{raw.name}: no column '{wanted}' for the time; columns are {', '.join(cols)}")
        return wanted
    by_name = [c for c in cols if c.lower() in TIME_NAMES]
    if by_name:
        return by_name[0]
    parsed = [c for c in cols if looks_like_time(raw.frame[c])]
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
    decimal_comma = raw.delimiter != "," and _uses_decimal_comma(raw.frame, cols)
    out: dict[str, np.ndarray] = {}
    for c in cols:
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
        text = pl.Series(np.where(ok.fill_null(False).to_numpy(), text.str.replace_all(".", "", literal=True)
                                  .str.replace(",", ".", literal=True).to_numpy(), "x"))
    values = text.cast(pl.Float64, strict=False).to_numpy()
    values = np.array(values, dtype=np.float64)
    bad = ~missing & ~np.isfinite(values)
    values[missing] = np.nan
    return values, bad


def _bad_token_message(raw: RawTable, col: str, bad: np.ndarray, decimal_comma: bool) -> str:
    tokens = raw.frame[col].filter(pl.Series(bad)).head(3).to_list()
    shown = ", ".join(repr(t) for t in tokens)
    msg = f"{raw.name}: column '{col}' has non-numeric values on {describe_lines(raw.lines[bad])} ({shown})"
    if decimal_comma:
        return msg + "; the file uses ',' as the decimal separator, so write numbers like 10,9 or 1.234,5"
    if any("," in str(t) for t in tokens):
        return msg + "; ',' looks like a decimal separator: use '.' or a ';'-separated file"
    return msg + "; fix them or leave the cells empty to have them interpolated"


def _pick_targets(raw: RawTable, wanted: tuple[str, ...], numeric: dict[str, np.ndarray],
                  time_col: str, id_col: str | None) -> list[str]:
    for c in wanted:
        if c not in raw.frame.columns:
            raise ConfigError(f"{raw.name}: no column '{c}' to forecast; columns are {', '.join(raw.frame.columns)}")
        if c in (time_col, id_col) or c not in numeric:
            raise DataError(f"{raw.name}: column '{c}' is not numeric, so it cannot be a target")
    if wanted:
        return list(dict.fromkeys(wanted))
    if len(numeric) == 1:
        return list(numeric)
    if not numeric:
        raise DataError(f"{raw.name}: no numeric value column found (columns: {', '.join(raw.frame.columns)})")
    raise ConfigError(
        f"{raw.name}: several numeric columns ({', '.join(numeric)}); choose what to forecast with --target COL"
    )


def _pick_features(raw: RawTable, wanted: tuple[str, ...] | str, numeric: dict[str, np.ndarray],
                   targets: list[str]) -> list[str]:
    if wanted == "all":
        return [c for c in numeric if c not in targets]
    out = []
    for c in wanted:
        if c not in raw.frame.columns:
            raise ConfigError(f"{raw.name}: no feature column '{c}'; columns are {', '.join(raw.frame.columns)}")
        if c not in numeric:
            raise DataError(f"{raw.name}: feature column '{c}' is not numeric")
        if c not in targets and c not in out:
            out.append(c)
    return out


Group = tuple[str, np.ndarray, np.ndarray, np.ndarray]


def _group(ids: np.ndarray, times: np.ndarray, values: np.ndarray, raw: RawTable, report: LoadReport,
           time_col: str) -> list[Group]:
    """Split rows by series id, sort each by time, refuse duplicated timestamps."""
    order = np.lexsort((times, ids))
    # Only an order problem within a series counts as unsorted; series may come in any order.
    report.sorted_rows = _unsorted_within(ids, times)
    ids, times, values, lines = ids[order], times[order], values[order], raw.lines[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    groups = []
    for a, b in zip(starts, ends, strict=True):
        t = times[a:b]
        dup = np.flatnonzero(t[1:] == t[:-1])
        if dup.size:
            shown = ", ".join(str(x) for x in np.unique(t[dup])[:5])
            where = f" in series '{ids[a]}'" if len(starts) > 1 else ""
            raise DataError(
                f"{raw.name}: duplicated timestamps{where} in column '{time_col}' ({shown}; "
                f"{describe_lines(np.sort(np.r_[lines[a:b][dup], lines[a:b][dup + 1]]))}); keep one row per time"
            )
        groups.append((str(ids[a]), t, values[a:b], lines[a:b]))
    return groups


def _unsorted_within(ids: np.ndarray, times: np.ndarray) -> bool:
    same = ids[1:] == ids[:-1]
    return bool(np.any(same & (times[1:] < times[:-1])))


def _check_grid(groups: list[Group], freq: Frequency, raw: RawTable, time_col: str) -> None:
    """Every timestamp must sit on the series' grid."""
    for sid, t, _, lines in groups:
        grid = time_grid(t[0], t[-1], freq)
        off = ~np.isin(t, grid)
        if off.any():
            where = f" of series '{sid}'" if len(groups) > 1 else ""
            raise DataError(
                f"{raw.name}: column '{time_col}'{where} is not on a regular {freq.label} grid "
                f"({describe_lines(lines[off])}, e.g. {t[off][0]}); resample the data to one step"
            )


def _regularise(sid: str, t: np.ndarray, v: np.ndarray, freq: Frequency, channels: list[str], file: str,
                max_gap: int | None, report: LoadReport) -> tuple[np.ndarray, np.ndarray]:
    """Put one series on its full grid and interpolate missing cells and steps."""
    grid = time_grid(t[0], t[-1], freq)
    full = np.full((len(grid), v.shape[1]), np.nan)
    full[np.searchsorted(grid, t)] = v
    report.filled_rows += len(grid) - len(t)
    present = ~np.isnan(full).any(axis=1)
    if not present.any():
        raise DataError(f"{file}: series '{sid}' has no complete row of {', '.join(channels)}")
    first, last = np.flatnonzero(present)[[0, -1]]
    report.trimmed_rows += int(first + len(grid) - 1 - last)
    grid, full = grid[first:last + 1], full[first:last + 1]
    idx = np.arange(len(grid))
    where = f" in series '{sid}'" if sid else ""
    for j, col in enumerate(channels):
        miss = np.isnan(full[:, j])
        if not miss.any():
            continue
        run_start, run_len = _longest_run(miss)
        if run_len > report.longest_gap:
            report.longest_gap = run_len
            report.longest_gap_where = (f"'{col}'{where} is missing for {run_len} consecutive steps "
                                        f"({grid[run_start]} to {grid[run_start + run_len - 1]})")
        if max_gap is not None and run_len > max_gap:
            raise gap_error(file, report.longest_gap_where, max_gap)
        full[miss, j] = np.interp(idx[miss], idx[~miss], full[~miss, j])
    for j, col in enumerate(channels):
        report.filled_cells[col] = report.filled_cells.get(col, 0) + int(np.isnan(v[:, j]).sum())
    return grid, full


def gap_error(file: str, where: str, input_len: int) -> DataError:
    return DataError(f"{file}: {where}, longer than the input window ({input_len}); interpolating it would "
                     "invent the data: split the file at the gap or fill it before training")


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    padded = np.r_[False, mask, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, stops = edges[::2], edges[1::2]
    k = int(np.argmax(stops - starts))
    return int(starts[k]), int(stops[k] - starts[k])
