"""Time split and windows: sizes, order, and no leakage into the scaling statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsrnn.core.errors import DataError
from tsrnn.data.loader import SeriesSet, load_series
from tsrnn.data.windows import make_windows, split_series


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


def _monthly(path: Path, values: np.ndarray) -> SeriesSet:
    times = np.datetime64("1900-01", "M") + np.arange(len(values))
    path.write_text("time,value\n" + "\n".join(f"{t}-01,{v:.4f}" for t, v in zip(times, values, strict=True)))
    return load_series(path)


def test_default_window_covers_a_cycle_the_calendar_does_not_explain(tmp_path: Path) -> None:
    """Real sunspots: the ~11-year cycle (about 125 months in the autocorrelation) becomes the default window
    instead of two years; a calendar-bound cycle, a trend, or data too short for the cycle's window keep the
    frequency's default."""
    from tsrnn.experiment.pipeline import default_input_len, detected_cycle, model_config

    real = Path(__file__).parents[2] / "data" / "real"
    sun = load_series(real / "sunspots_monthly.csv")
    assert sun.freq.default_input_len() == 24 and 120 <= detected_cycle(sun) <= 135
    assert model_config(sun).input_len == default_input_len(sun) == detected_cycle(sun)
    assert model_config(sun, input_len=24).input_len == 24
    rng = np.random.default_rng(0)
    steps = np.arange(600)
    made = _monthly(tmp_path / "c50.csv", 10 + np.sin(2 * np.pi * steps / 50) + 0.1 * rng.standard_normal(600))
    assert detected_cycle(made) in (49, 50, 51)
    yearly = _monthly(tmp_path / "c36.csv", 10 + np.sin(2 * np.pi * steps / 36) + 0.1 * rng.standard_normal(600))
    assert detected_cycle(yearly) is None and default_input_len(yearly) == 24  # three years: calendar-bound
    trend = _monthly(tmp_path / "trend.csv", steps * 0.5 + rng.standard_normal(600))
    assert detected_cycle(trend) is None
    assert default_input_len(made) == detected_cycle(made)
    assert default_input_len(made, horizon=200) == 24  # 50 + 3 x 200 steps are more than the 600 there are
    lynx = load_series(real / "lynx_annual.csv")
    assert default_input_len(lynx) == lynx.freq.default_input_len() == 10  # its 10-year cycle is the default
