"""Rolling-origin backtests: K origins at the end of every series, scored in one batched ONNX call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsrnn.core.errors import DataError
from tsrnn.data.loader import SeriesSet
from tsrnn.data.windows import bridge_for, default_val_len, long_gap_rows, rows_needed
from tsrnn.evaluate.metrics import METRICS, baselines, evaluate, interval_scores, mase_scale


@dataclass
class Folds:
    """Forecast origins: fold k forecasts steps [T - (K - k) * H, T - (K - k - 1) * H) of each series."""

    folds: int
    horizon: int
    history: np.ndarray
    """(folds * series, input_len, channels): the input window before each origin, fold-major."""
    known: np.ndarray | None
    """(folds * series, input_len + horizon, known inputs), or None for data without known inputs."""
    actual: np.ndarray
    """(folds * series, horizon, targets)."""
    insample: list[np.ndarray]
    """Per fold and series, every target value before the origin (MASE scale and baselines)."""
    valid: np.ndarray | None = None
    """(folds * series,) whether the window and its horizon hold no long interpolated gap; the others are left
    out of the scores (None: every one is scored)."""

    @property
    def n_series(self) -> int:
        return len(self.history) // self.folds

    def fold_slice(self, k: int) -> slice:
        return slice(k * self.n_series, (k + 1) * self.n_series)

    def scored_rows(self, k: int) -> np.ndarray:
        """Rows of fold k that are scored: all of them, less those over a long interpolated gap."""
        s = self.fold_slice(k)
        return np.arange(s.start, s.stop) if self.valid is None else np.flatnonzero(self.valid[s]) + s.start


def make_folds(data: SeriesSet, input_len: int, horizon: int, folds: int) -> Folds:
    """The last `folds` non-overlapping horizons of every series, oldest first."""
    if folds < 1:
        raise DataError(f"--folds must be at least 1, got {folds}")
    n_t = len(data.targets)
    shortest = int(data.lengths.min())
    train_rows = shortest - folds * horizon
    need = rows_needed(input_len, horizon, default_val_len(max(train_rows, 0), horizon), 0) + folds * horizon
    if shortest < need:
        raise DataError(
            f"{data.path.name}: a backtest of {folds} folds x horizon {horizon} with input window {input_len} "
            f"needs {need} rows per series, the shortest has {shortest}; use fewer --folds or a shorter window"
        )
    C = len(data.channels)
    windows, actual, insample, valid = [], [], [], []
    bad = [long_gap_rows(f, bridge_for(input_len)) for f in data.filled] if data.filled is not None else None
    series = [data.model_values(i) for i in range(data.n_series)]  # values with known inputs, joined once
    for k in range(folds):
        back = (folds - k) * horizon
        for i, v in enumerate(series):
            origin = len(v) - back
            valid.append(bad is None or not bad[i][origin - input_len : origin + horizon].any())
            windows.append(v[origin - input_len : origin + horizon])
            actual.append(v[origin : origin + horizon, :n_t])
            insample.append(v[:origin, :n_t])
    w = np.stack(windows).astype(np.float32)
    known = np.ascontiguousarray(w[:, :, C:]) if data.known is not None else None
    ok = np.array(valid)
    if not ok.any():
        ok[:] = True  # every fold window is invented: score them all rather than none
    return Folds(
        folds,
        horizon,
        np.ascontiguousarray(w[:, :input_len, :C]),
        known,
        np.stack(actual),
        insample,
        None if ok.all() else ok,
    )


def fold_scores(folds: Folds, forecast: np.ndarray, season: int) -> list[dict[str, np.ndarray]]:
    """Per fold: per-target metrics of a forecast (folds * series, horizon, targets)."""
    out = []
    for k in range(folds.folds):
        keep = folds.scored_rows(k)
        if not len(keep):
            continue  # every series of this fold overlaps a long gap
        scale = mase_scale([folds.insample[i] for i in keep], season)
        out.append(evaluate(folds.actual[keep], forecast[keep], scale))
    return out


def fold_interval_scores(
    folds: Folds, quantiles: np.ndarray, levels: list[float], season: int
) -> list[dict[str, np.ndarray]]:
    """Per fold: coverage and MSIS of the outermost quantiles."""
    out = []
    for k in range(folds.folds):
        keep = folds.scored_rows(k)
        if not len(keep):
            continue
        scale = mase_scale([folds.insample[i] for i in keep], season)
        q = quantiles[keep]
        out.append(interval_scores(folds.actual[keep], q[..., 0], q[..., -1], levels[-1] - levels[0], scale))
    return out


def baseline_forecasts(folds: Folds, season: int, seasons: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """Naive, seasonal-naive (one per season: `tsrnn.evaluate.metrics.baseline_seasons`) and drift forecasts for every
    fold and series. A season longer than the shortest history before an origin gets no row."""
    shortest = min(len(y) for y in folds.insample)
    return baselines(folds.insample, folds.horizon, season, tuple(m for m in seasons if m <= shortest))


def summarise(per_fold: list[dict[str, np.ndarray]], keys: tuple[str, ...] = METRICS) -> dict[str, float]:
    """Mean and spread over folds (targets averaged): {'mase': .., 'mase_std': .., ...}."""
    out: dict[str, float] = {}
    for key in keys:
        if key not in per_fold[0]:
            continue
        values = np.array([float(np.mean(f[key])) for f in per_fold])
        out[key] = float(values.mean())
        out[f"{key}_std"] = float(values.std())
    return out
