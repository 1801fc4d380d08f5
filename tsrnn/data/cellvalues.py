"""Parse the text cells of value columns as numbers: missing-cell tokens, the decimal comma, and stray text named
by its lines."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from tsrnn.core.errors import DataError
from tsrnn.core.messages import describe_lines, shorten
from tsrnn.data.rawtable import MISSING_TOKENS, RawTable

_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_COMMA_INT = re.compile(r"^[+-]?\d+$")


def numeric_columns(raw: RawTable, exclude: set[str | None]) -> tuple[dict[str, np.ndarray], bool]:
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
