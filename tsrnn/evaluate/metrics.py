"""Point-forecast metrics and the naive, seasonal-naive and drift baselines (numpy only)."""

from __future__ import annotations

import numpy as np

METRICS = ("mase", "smape", "mae", "rmse")


def naive(insample: list[np.ndarray], horizon: int) -> np.ndarray:
    """Repeat the last value: [S, horizon, targets]."""
    return np.stack([np.repeat(y[-1:], horizon, axis=0) for y in insample])


def seasonal_naive(insample: list[np.ndarray], horizon: int, season: int) -> np.ndarray:
    """Repeat the last full season."""
    if season <= 1:
        return naive(insample, horizon)
    out = []
    for y in insample:
        last = y[-season:]
        reps = -(-horizon // season)
        out.append(np.tile(last, (reps, 1))[:horizon])
    return np.stack(out)


def drift(insample: list[np.ndarray], horizon: int) -> np.ndarray:
    """Extend the line from the first to the last value."""
    out = []
    for y in insample:
        slope = (y[-1] - y[0]) / max(len(y) - 1, 1)
        out.append(y[-1] + np.arange(1, horizon + 1)[:, None] * slope)
    return np.stack(out)


def mase_scale(insample: list[np.ndarray], season: int) -> np.ndarray:
    """In-sample seasonal-naive MAE per series and target: [S, targets]."""
    m = season if season >= 1 else 1
    scales = []
    for y in insample:
        lag = m if len(y) > m else 1
        scales.append(np.mean(np.abs(y[lag:] - y[:-lag]), axis=0))
    return np.stack(scales)


def evaluate(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    """Per-target metrics over all series and steps; MASE is averaged over series."""
    err = forecast - actual
    denom = np.abs(actual) + np.abs(forecast)
    smape_terms = np.where(denom > 0, 2 * np.abs(err) / np.where(denom > 0, denom, 1), 0.0)
    safe = np.where(scale > 0, scale, np.nan)
    mase = np.nanmean(np.mean(np.abs(err), axis=1) / safe, axis=0)
    return {
        "mase": mase,
        "smape": 100 * smape_terms.mean(axis=(0, 1)),
        "mae": np.abs(err).mean(axis=(0, 1)),
        "rmse": np.sqrt((err**2).mean(axis=(0, 1))),
    }


def score_table(
    actual: np.ndarray, forecasts: dict[str, np.ndarray], insample: list[np.ndarray], season: int, targets: list[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {target: {metric: value}}} for the model and every baseline."""
    scale = mase_scale(insample, season)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, fc in forecasts.items():
        per = evaluate(actual, fc, scale)
        out[name] = {t: {k: float(per[k][i]) for k in METRICS} for i, t in enumerate(targets)}
    return out


def baselines(
    insample: list[np.ndarray], horizon: int, season: int, seasons: tuple[int, ...] = ()
) -> dict[str, np.ndarray]:
    """Naive, seasonal naive at every season (`baseline_seasons`) and drift, by name (`seasonal_name`)."""
    ms = baseline_seasons(season, seasons)
    return {
        "naive": naive(insample, horizon),
        **{seasonal_name(m, ms): seasonal_naive(insample, horizon, m) for m in ms},
        "drift": drift(insample, horizon),
    }


def baseline_seasons(season: int, seasons: tuple[int, ...] = ()) -> tuple[int, ...]:
    """The seasons that get a seasonal-naive baseline: the main season (MASE's) and every season of the data,
    ascending; just the main season, as given, when that is all (season 1: the last value)."""
    several = tuple(sorted({m for m in (season, *seasons) if m > 1}))
    return several or (season,)


def seasonal_name(m: int, seasons: tuple[int, ...]) -> str:
    """'seasonal_naive' when the data has one season, 'seasonal_naive_336' (one row per season) otherwise."""
    return "seasonal_naive" if len(seasons) <= 1 else f"seasonal_naive_{m}"


def baseline_kind(name: str, season: int) -> tuple[str, int]:
    """A baseline row's name -> its kind and season: 'seasonal_naive_336' -> ('seasonal_naive', 336);
    'seasonal_naive' -> ('seasonal_naive', season); 'drift' -> ('drift', season)."""
    head, _, tail = name.rpartition("_")
    if head == "seasonal_naive" and tail.isdigit():
        return head, int(tail)
    return name, season


LABELS = {
    "mase": "MASE",
    "smape": "sMAPE %",
    "mae": "MAE",
    "rmse": "RMSE",
    "coverage": "coverage",
    "msis": "MSIS",
    "accuracy": "accuracy",
}


def format_table(scores: dict[str, dict[str, dict[str, float]]]) -> str:
    """A plain-text table: one row per method and target; the columns are the model's metrics."""
    targets = next(iter(scores.values())).keys()
    multi = len(targets) > 1
    keys = list(next(iter(next(iter(scores.values())).values())))
    header = ["method"] + (["target"] if multi else []) + [LABELS.get(k, k) for k in keys]
    rows = []
    for method, per in scores.items():
        for t, m in per.items():
            cells = [method] + ([t] if multi else [])
            cells += [_fmt(k, m[k]) if k in m else "" for k in keys]
            rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(_row(r, widths) for r in [header, *rows])


def _row(cells: list[str], widths: list[int]) -> str:
    """First cell left-aligned, the numbers right-aligned."""
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


def _fmt(key: str, x: float) -> str:
    if key in ("mase", "msis", "accuracy", "coverage"):
        return f"{x:.3f}"
    if key == "smape":
        return f"{x:.2f}"
    return _num(x)


def _num(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.4e}"


def interval_scores(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, coverage_level: float, scale: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-target coverage of [lower, upper] and MSIS (interval score scaled like MASE)."""
    alpha = 1.0 - coverage_level
    inside = (actual >= lower) & (actual <= upper)
    score = (upper - lower) + 2 / alpha * ((lower - actual) * (actual < lower) + (actual - upper) * (actual > upper))
    safe = np.where(scale > 0, scale, np.nan)
    return {
        "coverage": inside.mean(axis=(0, 1)),
        "msis": np.nanmean(score.mean(axis=1) / safe, axis=0),
    }


def direction_scores(prob: np.ndarray, up: np.ndarray, train_up_share: float) -> dict[str, dict[str, float]]:
    """Accuracy of p > 0.5 and of always predicting the training majority class."""
    majority = train_up_share >= 0.5
    return {
        "model": {"accuracy": float(np.mean((prob > 0.5) == up))},
        "majority": {"accuracy": float(np.mean(up == majority))},
    }
