"""The horizon's values of known-in-advance columns (--future): from the rows after each series' last observed
target in the data file, or from a future-values file in long format (id, time, columns). Every series must
get exactly its next `horizon` steps; anything else is an error that names the series, the time and the column.
"""

from __future__ import annotations

import os

import numpy as np
import polars as pl

from tsrnn.core.errors import DataError
from tsrnn.core.messages import shorten
from tsrnn.data.csvio import read_header, read_raw
from tsrnn.data.loader import SeriesSet, resolve_demo
from tsrnn.data.rawtable import RawTable
from tsrnn.timeline.known import window_times
from tsrnn.timeline.timefreq import parse_times

KEY_SERIES, KEY_TIME = "__series", "__time"
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def horizon_values(
    data: SeriesSet,
    source: str | os.PathLike[str] | RawTable,
    columns: list[str],
    horizon: int,
    same_file: bool,
    model: str,
) -> np.ndarray:
    """(series, horizon, columns) values for the steps after each series' last row of `data`. With `same_file`,
    `source` is the data file itself (or the table read from it) and only its rows after each series' last
    observed target count; else it is a future-values file, and all its rows must fall in some series' horizon."""
    if isinstance(source, RawTable):
        name, header = source.name, source.frame.columns
    else:
        path = resolve_demo(source)
        name = path.name
        header = read_header(path)
    need = [c for c in [data.id_col, data.time_col, *columns] if c]
    missing = [c for c in need if c not in header]
    if missing:
        raise DataError(
            f"{name}: no column {', '.join(repr(c) for c in missing)}; the model {model} reads "
            f"{', '.join(columns)} for the {horizon} steps it forecasts, by "
            f"{' and '.join(c for c in (data.id_col, data.time_col) if c)}"
        )
    if not same_file:
        unknown = [c for c in header if c not in need and c not in data.targets]
        if unknown:
            raise DataError(
                f"{name}: columns {', '.join(repr(c) for c in unknown)} are not known to the model "
                f"{model}; a future-values file holds {', '.join(need)}: leave the others out of it, or train with "
                f"--future {' '.join([*columns, *unknown])} for the model to read them"
            )
    raw = source if isinstance(source, RawTable) else read_raw(path)
    frame = raw.frame.select(need)
    times, _ = parse_times(frame[data.time_col], name, raw.lines)
    ids = frame[data.id_col].cast(pl.String).fill_null("") if data.id_col else pl.Series([""] * frame.height)
    given = pl.DataFrame(
        {
            KEY_SERIES: ids,
            KEY_TIME: times,
            "__line": raw.lines,
            **{c: _numbers(frame[c], name, raw.lines) for c in columns},
        }
    )
    last = np.array([t[-1] for t in data.times], dtype="datetime64[us]")
    if same_file:  # the rows after each series' last complete row are the future ones
        ends = pl.DataFrame({KEY_SERIES: data.ids, "__last": last})
        given = given.join(ends, on=KEY_SERIES, how="inner").filter(pl.col(KEY_TIME) > pl.col("__last"))
        given = given.drop("__last")
    steps = window_times(last, None, horizon, data.freq)  # (series, horizon)
    wanted = pl.DataFrame(
        {
            KEY_SERIES: np.repeat(np.asarray(data.ids, dtype=object), horizon).tolist(),
            KEY_TIME: steps.reshape(-1),
            "__step": np.arange(len(data.ids) * horizon),
        }
    )
    joined = wanted.join(given, on=[KEY_SERIES, KEY_TIME], how="left").sort("__step")
    _refuse_missing(joined, columns, name, model, horizon, data.utc)
    extra = given.join(wanted, on=[KEY_SERIES, KEY_TIME], how="anti")
    if extra.height:
        row = extra.sort("__line").row(0, named=True)
        who = f"series '{row[KEY_SERIES]}'" if data.id_col else "the series"
        raise DataError(
            f"{name}: {extra.height} row(s) fall outside the {horizon} steps the model {model} forecasts (e.g. {who} "
            f"at {_when(row[KEY_TIME], data.utc)}, line {row['__line']}); give exactly the {horizon} steps after each "
            "series' last observed value"
        )
    dup = joined.group_by("__step").len().filter(pl.col("len") > 1)
    if dup.height:
        raise DataError(f"{name}: a future time is given twice for one series; keep one row per series and time")
    return joined.select(columns).to_numpy().astype(np.float32).reshape(len(data.ids), horizon, len(columns))


def _numbers(s: pl.Series, file: str, lines: np.ndarray) -> np.ndarray:
    text = s.cast(pl.String).str.strip_chars()
    values = text.cast(pl.Float64, strict=False).to_numpy()
    bad = ~np.isfinite(values) & (text.is_not_null() & (text != "")).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{file}: column '{s.name}' has a non-numeric value on line {lines[i]} ({shorten(str(text[i]))!r}); fix it"
        )
    huge = np.abs(np.nan_to_num(values)) > _FLOAT32_MAX
    if huge.any():  # the model reads 32-bit floats: such a value would become infinite
        i = int(np.flatnonzero(huge)[0])
        raise DataError(
            f"{file}: column '{s.name}' has a value too large for 32-bit floats (above {_FLOAT32_MAX:.3g}) on line "
            f"{lines[i]} ({shorten(str(text[i]))!r}); rescale the column as in the training data"
        )
    return values


def _refuse_missing(joined: pl.DataFrame, columns: list[str], file: str, model: str, horizon: int, utc: bool) -> None:
    for c in columns:
        gap = joined.filter(pl.col(c).is_null() | pl.col(c).is_nan())
        if gap.height:
            row = gap.row(0, named=True)
            who = f"series '{row[KEY_SERIES]}'" if row[KEY_SERIES] else "the series"
            raise DataError(
                f"{file}: {who} has no value of '{c}' for {_when(row[KEY_TIME], utc)} ({gap.height} of the "
                f"horizon's cells are missing); the model {model} needs {', '.join(columns)} for each of the "
                f"{horizon} steps after the last observed value: add those rows (target empty) or pass "
                "--future-csv"
            )


def _when(t: object, utc: bool) -> str:
    """A time as the forecast table writes it, with its time of day."""
    return str(np.array([t], dtype="datetime64[s]")[0]) + ("Z" if utc else "")
