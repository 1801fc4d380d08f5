"""Split series by time into train, validation and test, and cut them into windows (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tsrnn.core.errors import DataError
from tsrnn.data.loader import SeriesSet


@dataclass
class Split:
    """Windows [N, input_len + horizon, channels + known inputs] per part, and what evaluation needs."""

    input_len: int
    horizon: int
    val_len: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    """Windows whose targets lie in the test block: one per series when the block is one horizon."""
    test_len: int
    insample: list[np.ndarray]
    """Per series, every target value before the test block (for MASE and the baselines)."""
    mean: np.ndarray
    std: np.ndarray
    """Per-channel statistics of the training parts only."""
    left_out: int = 0
    """Training and validation windows left out because they overlap a long interpolated gap."""
    windows_total: int = 0
    """Training and validation windows before any was left out."""
    bridge: int = 0
    """The longest run of interpolated steps a window may hold."""
    known_mean: np.ndarray | None = None
    known_std: np.ndarray | None = None
    """Statistics of the known inputs over the training parts (None without known inputs)."""


def default_val_len(length: int, horizon: int) -> int:
    """Validation block: a tenth of the series, at least one horizon."""
    return max(horizon, round(0.1 * length))


def rows_needed(input_len: int, horizon: int, val_len: int, test_len: int | None = None) -> int:
    """One training window, the validation block and the test block."""
    return input_len + horizon + val_len + (horizon if test_len is None else test_len)


BRIDGE_STEPS = 3
"""Runs of interpolated steps up to this long (or a tenth of the input window, if longer) are bridged: windows
that hold them are used. A window that overlaps a longer run is left out of training and of backtest scores."""


def bridge_for(input_len: int) -> int:
    """The longest run of interpolated steps that windows of this input length may hold."""
    return max(BRIDGE_STEPS, input_len // 10)


def long_gap_rows(filled: np.ndarray, bridge: int) -> np.ndarray:
    """Rows that belong to a run of more than `bridge` interpolated steps."""
    edges = np.flatnonzero(np.diff(np.r_[0, filled.astype(np.int8), 0]))
    starts, stops = edges[::2], edges[1::2]
    long = (stops - starts) > bridge
    marks = np.zeros(len(filled) + 1, dtype=np.int64)
    np.add.at(marks, starts[long], 1)
    np.add.at(marks, stops[long], -1)
    return np.cumsum(marks[:-1]) > 0


def clean_starts(bad: np.ndarray | None, first: int, last: int, size: int) -> np.ndarray | None:
    """For windows of `size` starting at first..last, whether each holds no bad row (None: all do)."""
    if bad is None:
        return None
    seen = np.r_[0, np.cumsum(bad)]
    starts = np.arange(first, last + 1)
    return (seen[starts + size] - seen[starts]) == 0


def make_windows(values: np.ndarray, size: int) -> np.ndarray:
    """All windows of `size` consecutive steps: [T, C] -> [T - size + 1, size, C]."""
    if len(values) < size:
        return np.empty((0, size, values.shape[1]), dtype=values.dtype)
    return sliding_window_view(values, size, axis=0).transpose(0, 2, 1)


def split_series(
    data: SeriesSet,
    input_len: int,
    horizon: int,
    val_len: int | None = None,
    test_len: int | None = None,
    history_len: int | None = None,
) -> Split:
    """Test = last test_len (default: horizon) steps of each series; validation = the block before; the rest
    trains. Each window holds `history_len` steps of history (a model's longest season, when longer than its
    input window; default input_len) then the horizon; Split.input_len is that history length."""
    test_len = horizon if test_len is None else test_len
    window_len, input_len = input_len, max(input_len, history_len or 0)
    n_targets = len(data.targets)
    size = input_len + horizon
    too_short = []
    train, val, test, insample, train_parts = [], [], [], [], []
    n_channels = len(data.channels)
    bridge = bridge_for(input_len)
    total = left_out = 0
    for i, sid in enumerate(data.ids):
        v = data.model_values(i)  # channels, then the known inputs
        bad = long_gap_rows(data.filled[i], bridge) if data.filled is not None else None
        vl = val_len or default_val_len(len(v), horizon)
        need = rows_needed(input_len, horizon, vl, test_len)
        if len(v) < need:
            too_short.append((sid, len(v), need))
            continue
        cut_test = len(v) - test_len
        cut_val = cut_test - vl
        train_parts.append(v[:cut_val])
        tw = make_windows(v[:cut_val], size)
        vw = make_windows(v[cut_val - input_len : cut_test], size)
        total += len(tw) + len(vw)
        keep_t = clean_starts(bad, 0, cut_val - size, size)
        keep_v = clean_starts(bad, cut_val - input_len, cut_test - size, size)
        if keep_t is not None and keep_v is not None:
            if not keep_v.any():
                keep_v[:] = True  # every validation window is invented: keep them rather than validate on none
            left_out += int((~keep_t).sum() + (~keep_v).sum())
            tw, vw = tw[keep_t], vw[keep_v]
        train.append(tw)
        val.append(vw)
        test.append(make_windows(v[cut_test - input_len :], size))
        insample.append(v[:cut_test, :n_targets])
    if too_short:
        sid, have, need = too_short[0]
        who = f"series '{sid}' has" if sid else "the series has"
        more = f" ({len(too_short)} of {data.n_series} series are too short)" if data.n_series > 1 else ""
        if input_len > window_len:
            raise DataError(
                f"{data.path.name}: {who} {have} rows, shorter than the longest season needs: the model reads "
                f"{input_len} steps (its longest season) + horizon {horizon} to train, a validation block of "
                f"{val_len or default_val_len(have, horizon)} and a test block of {test_len}, {need} rows{more}; "
                "use shorter --seasons (or --seasons none) or a shorter --horizon"
            )
        raise DataError(
            f"{data.path.name}: {who} {have} rows but needs at least {need}: input window {input_len} + "
            f"horizon {horizon} to train, a validation block of {val_len or default_val_len(have, horizon)} "
            f"and a test block of {test_len}{more}; shorten --input-len or --horizon"
        )
    if left_out and not sum(len(t) for t in train):
        raise DataError(
            f"{data.path.name}: every training window overlaps an interpolated gap longer than {bridge} steps "
            f"({data.report.longest_gap_where}); the data left is too short: fill the gap or use a shorter "
            "--input-len or --horizon"
        )
    joined = np.concatenate(train_parts)
    known = joined[:, n_channels:] if joined.shape[1] > n_channels else None
    joined = joined[:, :n_channels]
    return Split(
        input_len=input_len,
        horizon=horizon,
        val_len=val_len or default_val_len(len(data.values[0]), horizon),
        # test_len 0 (no test block) leaves no test windows: fit on everything, evaluate elsewhere
        train=np.ascontiguousarray(np.concatenate(train), dtype=np.float32),
        val=np.ascontiguousarray(np.concatenate(val), dtype=np.float32),
        test=np.ascontiguousarray(np.concatenate(test), dtype=np.float32),
        test_len=test_len,
        insample=insample,
        mean=joined.mean(axis=0).astype(np.float32),
        std=joined.std(axis=0).astype(np.float32),
        left_out=left_out,
        windows_total=total,
        bridge=bridge,
        known_mean=None if known is None else known.mean(axis=0).astype(np.float32),
        known_std=None if known is None else known.std(axis=0).astype(np.float32),
    )
