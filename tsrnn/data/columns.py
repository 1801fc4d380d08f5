"""Stage 1 of the loader: choose a table's time, id, target, feature and future columns, with its values as numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from tsrnn.core.config import DataConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.core.messages import describe_lines
from tsrnn.data.cellvalues import numeric_columns
from tsrnn.data.rawtable import RawTable
from tsrnn.data.seriesset import LoadReport
from tsrnn.timeline.timefreq import TIME_NAMES, looks_like_time

ID_NAMES = ("id", "unique_id", "series", "series_id", "item_id")
"""Column names taken for the series id when no --id-col is given (any case)."""


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


def choose_columns(raw: RawTable, cfg: DataConfig) -> Table:
    """Choose the time, id, target and feature columns of a table as read; values as float64."""
    report = LoadReport(rows=raw.frame.height)
    time_col = _pick_time_col(raw, cfg.time_col)
    id_col = _pick_id_col(raw, cfg.id_col, time_col)
    numeric, report.decimal_comma = numeric_columns(raw, exclude={time_col, id_col})
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
    return id_column(cols, None, time_col)


def id_column(columns: list[str], wanted: str | None, time_col: str | None) -> str | None:
    """The column that tells series apart: `wanted` (a configured --id-col, or the model's), else the first
    column named like an id (ID_NAMES, any case) that is not the time column; None: one series. Both forecast
    engines find series by this rule."""
    if wanted:
        return wanted
    return next((c for c in columns if c.lower() in ID_NAMES and c != time_col), None)


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
