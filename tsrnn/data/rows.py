"""Stage 2 of the loader: parse the times and ids, sort the rows, refuse duplicates, and infer the frequency or
the session calendar the rows follow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tsrnn.core.config import DataConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.core.messages import describe_lines
from tsrnn.data.columns import Table
from tsrnn.timeline.sessions import SessionCalendar, detect_sessions
from tsrnn.timeline.timefreq import DAY, Frequency, infer_frequency, local_day_steps, parse_times


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


def parse_rows(table: Table, cfg: DataConfig) -> Rows:
    """Parse the times and ids, sort the rows, refuse duplicates, infer the frequency and, for intraday data
    observed only while something is open, its session calendar."""
    raw = table.raw
    times, utc = parse_times(raw.frame[table.time_col], raw.name, raw.lines)
    raw.frame = raw.frame.drop(table.time_col)
    names, codes = _series_codes(raw.frame[table.id_col] if table.id_col else None, len(times))
    raw.frame = raw.frame.clear()
    values, lines = table.values, raw.lines
    table.values = np.zeros((0, values.shape[1]))
    return settle_rows(table, cfg, codes, times, values, lines, names, utc)


def settle_rows(
    table: Table,
    cfg: DataConfig,
    codes: np.ndarray,
    times: np.ndarray,
    values: np.ndarray,
    lines: np.ndarray,
    names: list[str],
    utc: bool,
) -> Rows:
    """The rest of stage 2 once the times and ids are parsed (by `parse_rows`, or by `tsrnn.data.express` for a
    small clean table): sort the rows, refuse duplicates, infer the frequency and the session calendar."""
    raw, report = table.raw, table.report
    if not _in_order(codes, times):
        order = np.lexsort((times, codes))
        report.sorted_rows = _unsorted_within(codes, times)
        codes, times, values, lines = codes[order], times[order], values[order], lines[order]
        del order
    _refuse_duplicates(codes, times, lines, names, raw.name, table.time_col)
    freq = local_day_steps(infer_frequency(times, codes, raw.name), utc)
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


def _unsorted_within(codes: np.ndarray, times: np.ndarray) -> bool:
    """Only an order problem within a series counts as unsorted; series may come in any order."""
    same = codes[1:] == codes[:-1]
    return bool(np.any(same & (times[1:] < times[:-1])))


def series_label(names: list[str], code: int) -> str:
    """Where a message points when the file holds several series (" in series 'b'"); '' for one series."""
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
        f"{file}: duplicated timestamps{series_label(names, int(codes[dup[0]]))} in column '{time_col}' ({shown}; "
        f"{describe_lines(np.sort(np.r_[lines[first], lines[first + 1]]))}); keep one row per time"
    )
