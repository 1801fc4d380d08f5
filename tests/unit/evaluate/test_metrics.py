"""Metrics and baselines on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tsrnn.evaluate.metrics import baselines, evaluate, format_table, mase_scale, score_table, seasonal_naive


def test_baselines_by_hand() -> None:
    y = [np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])]
    b = baselines(y, 3, season=2)
    assert b["naive"][0, :, 0].tolist() == [5, 5, 5]
    assert b["seasonal_naive"][0, :, 0].tolist() == [4, 5, 4]
    assert b["drift"][0, :, 0].tolist() == [6, 7, 8]


def test_seasonal_naive_without_season_is_naive() -> None:
    y = [np.array([[1.0], [3.0]])]
    assert seasonal_naive(y, 2, 1)[0, :, 0].tolist() == [3, 3]


def test_metrics_by_hand() -> None:
    actual = np.array([[[10.0], [20.0]]])
    forecast = np.array([[[12.0], [16.0]]])
    scale = np.array([[2.0]])
    m = evaluate(actual, forecast, scale)
    assert m["mae"][0] == pytest.approx(3.0)
    assert m["rmse"][0] == pytest.approx(np.sqrt((4 + 16) / 2))
    assert m["mase"][0] == pytest.approx(1.5)
    assert m["smape"][0] == pytest.approx(100 * (2 * 2 / 22 + 2 * 4 / 36) / 2)


def test_mase_scale_is_in_sample_seasonal_naive_mae() -> None:
    y = [np.array([[1.0], [5.0], [2.0], [7.0]])]
    assert mase_scale(y, 2)[0, 0] == pytest.approx((1 + 2) / 2)


def test_score_table_and_text() -> None:
    y = [np.arange(24, dtype=float)[:, None]]
    actual = np.arange(24, 27, dtype=float)[None, :, None]
    s = score_table(actual, {"model": actual.copy(), **baselines(y, 3, 4)}, y, 4, ["v"])
    assert s["model"]["v"]["mase"] == 0.0 and s["drift"]["v"]["mae"] == pytest.approx(0.0)
    assert s["naive"]["v"]["mae"] == pytest.approx(2.0)
    text = format_table(s)
    assert text.splitlines()[0].split() == ["method", "MASE", "sMAPE", "%", "MAE", "RMSE"]
    assert "seasonal_naive" in text
