"""Time split and windows: sizes, order, and no leakage into the scaling statistics."""

from __future__ import annotations

import numpy as np
import pytest

from tsrnn.data import load_series
from tsrnn.errors import DataError
from tsrnn.windows import make_windows, split_series


def test_make_windows_shape_and_content() -> None:
    v = np.arange(10, dtype=np.float32).reshape(5, 2)
    w = make_windows(v, 3)
    assert w.shape == (3, 3, 2)
    np.testing.assert_array_equal(w[1], v[1:4])


def test_split_blocks_and_stats_use_training_part_only() -> None:
    data = load_series("demo")
    s = split_series(data, input_len=24, horizon=12)
    v = data.values[0][:, 0]
    assert s.val_len == 14
    np.testing.assert_array_equal(s.test[0, :, 0], v[-36:])
    train_part = v[: 144 - 12 - 14]
    assert s.mean[0] == pytest.approx(train_part.mean(), rel=1e-6)
    assert s.train.shape == (len(train_part) - 36 + 1, 36, 1)
    assert s.train[-1, -1, 0] == train_part[-1]  # no training target reaches the validation block
    assert s.val[-1, -1, 0] == v[144 - 12 - 1]  # the last validation target is just before the test block
    assert len(s.insample[0]) == 132


def test_too_short_says_how_many_rows() -> None:
    data = load_series("demo")
    with pytest.raises(DataError, match=r"144 rows but needs at least 180.*--input-len"):
        split_series(data, input_len=120, horizon=12, val_len=36)
