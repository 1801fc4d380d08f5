"""Split series by time into train, validation and test, and cut them into windows (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .data import SeriesSet
from .errors import DataError


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


def default_val_len(length: int, horizon: int) -> int:
    """Validation block: a tenth of the series, at least one horizon."""
    return max(horizon, round(0.1 * length))


def rows_needed(input_len: int, horizon: int, val_len: int, test_len: int | None = None) -> int:
    """One training window, the validation block and the test block."""
    return input_len + horizon + val_len + (horizon if test_len is None else test_len)


def make_windows(values: np.ndarray, size: int) -> np.ndarray:
    """All windows of `size` consecutive steps: [T, C] -> [T - size + 1, size, C]."""
    if len(values) < size:
        return np.empty((0, size, values.shape[1]), dtype=values.dtype)
    return sliding_window_view(values, size, axis=0).transpose(0, 2, 1)


def split_series(data: SeriesSet, input_len: int, horizon: int, val_len: int | None = None,
                 test_len: int | None = None) -> Split:
    """Test = last test_len (default: horizon) steps of each series; validation = the block before; the rest
    trains."""
    test_len = horizon if test_len is None else test_len
    n_targets = len(data.targets)
    size = input_len + horizon
    too_short = []
    train, val, test, insample, train_parts = [], [], [], [], []
    n_channels = len(data.channels)
    for i, sid in enumerate(data.ids):
        v = data.model_values(i)  # channels, then the known inputs
        vl = val_len or default_val_len(len(v), horizon)
        need = rows_needed(input_len, horizon, vl, test_len)
        if len(v) < need:
            too_short.append((sid, len(v), need))
            continue
        cut_test = len(v) - test_len
        cut_val = cut_test - vl
        train_parts.append(v[:cut_val, :n_channels])
        train.append(make_windows(v[:cut_val], size))
        val.append(make_windows(v[cut_val - input_len:cut_test], size))
        test.append(make_windows(v[cut_test - input_len:], size))
        insample.append(v[:cut_test, :n_targets])
    if too_short:
        sid, have, need = too_short[0]
        who = f"series '{sid}' has" if sid else "the series has"
        more = f" ({len(too_short)} of {data.n_series} series are too short)" if data.n_series > 1 else ""
        raise DataError(
            f"{data.path.name}: {who} {have} rows but needs at least {need}: input window {input_len} + "
            f"horizon {horizon} to train, a validation block of {val_len or default_val_len(have, horizon)} "
            f"and a test block of {test_len}{more}; shorten --input-len or --horizon"
        )
    joined = np.concatenate(train_parts)
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
    )
