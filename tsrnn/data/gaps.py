"""Stages 3 and 4 of the loader: lay each series on its grid (missing steps become NaN rows, off-grid rows and
absurd jumps are refused), then interpolate the gaps and measure the longest."""

from __future__ import annotations

import numpy as np

import tsrnn.timeline.grid as grid
from tsrnn.core.errors import DataError
from tsrnn.core.messages import describe_lines
from tsrnn.data.columns import Table
from tsrnn.data.rows import Rows, series_label
from tsrnn.data.seriesset import LoadReport
from tsrnn.timeline.timefreq import Frequency, format_times


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


def _regularise(r: Rows, file: str, time_col: str, report: LoadReport) -> grid.Flat:
    codes, times, values, lines, freq, names = r.codes, r.times, r.values, r.lines, r.freq, r.names
    starts = grid.series_starts(codes, times, len(names))
    idx, on_grid = grid.rows_on_grid(times, codes, starts, freq)
    if not on_grid.all():
        off = np.flatnonzero(~on_grid)
        raise DataError(
            f"{file}: column '{time_col}'{series_label(names, int(codes[off[0]]))} is not on a regular "
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
        f"{file}: column '{time_col}'{series_label(names, int(codes[k]))} jumps {int(jump[k]):,} steps of the "
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
            f"'{channels[gap.column]}'{series_label(names, code)} is missing for {gap.length} consecutive steps "
            f"({' to '.join(format_times(flat.times[[gap.row, gap.row + gap.length - 1]], False))})"
        )
    if max_gap is not None and report.longest_gap > max_gap:
        raise gap_error(file, report.longest_gap_where, max_gap)


def gap_error(file: str, where: str, input_len: int) -> DataError:
    return DataError(
        f"{file}: {where}, longer than the input window ({input_len}); interpolating it would "
        "invent the data: split the file at the gap or fill it before training"
    )
