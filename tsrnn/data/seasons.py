"""The seasons of a series: candidates from its frequency, kept where the data shows them, and --seasons.

A season is a period in steps (48 half-hours: a day; 336: a week). A model with seasons reads, besides its
input window, the value one season before each horizon step, however long the season is.

Candidates come from the frequency alone: sub-daily fixed steps the day and the week, data on a session
calendar the open slots of a typical open day and of a week, daily the week (and the year with two years of
history), business days the week, weekly 52, monthly 12, quarterly 4. A candidate needs two full cycles in
the series. The check on the data (`check_seasons`) keeps a candidate when the autocorrelation at its lag is
clearly positive once the trend and the shorter seasons kept before it are taken out (rule in `season_score`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tsrnn.data.seriesset import SeriesSet
    from tsrnn.timeline.timefreq import Frequency

US = 1_000_000
DAY = 86_400 * US
MAX_SEASON = 10_080
"""The longest candidate in steps (a week of minutes): a model reads its longest season of history."""
MIN_SCORE = 0.1
"""A candidate is kept when its score (`season_score`, a correlation in -1..1) is above this. Over 5000 steps
the score of white noise stays under 0.03 and that of a random walk under 0.06 at lag 24 and 0.12 at lag
168 (95% of draws); a clear season scores 0.5 to 0.97 (half-hourly demand: 0.88 the day, 0.69 the week). A
season kept by chance costs little: the model learns how much weight each season gets."""
CHECK_CYCLES = 12
CHECK_STEPS = 5000
"""The check reads the last CHECK_CYCLES cycles or CHECK_STEPS steps of each series, whichever is longer."""
CHECK_SERIES = 64
"""... of at most this many series, evenly spread over the set."""


def candidate_seasons(freq: Frequency, n_steps: int) -> tuple[int, ...]:
    """Seasons the frequency suggests, ascending, each with at least two full cycles in `n_steps`."""
    found = _frequency_seasons(freq, n_steps)
    return tuple(m for m in sorted(set(found)) if 2 <= m <= MAX_SEASON and 2 * m <= n_steps)


def _frequency_seasons(freq: Frequency, n_steps: int) -> list[int]:
    if freq.sessions is not None:
        return [freq.sessions.steps_per_day, freq.sessions.steps_per_week]
    if freq.step_us and freq.step_us < DAY:
        if DAY % freq.step_us:
            return []
        day = DAY // freq.step_us
        return [day, 7 * day]
    if freq.code == "1d":
        return [7, 365] if n_steps >= 2 * 365 else [7]
    by_code = {"1bd": [5], "1w": [52], "1mo": [12], "3mo": [4], "6mo": [2], "1y": []}
    return by_code.get(freq.code, [freq.season] if freq.season > 1 else [])


def check_seasons(values: Sequence[np.ndarray], seasons: Sequence[int]) -> tuple[int, ...]:
    """The seasons of `seasons` (ascending) that the data shows: those whose mean score over the series
    (`season_score`) is above MIN_SCORE; the first kept is the main season. `values` holds one array per
    series, (T,) or (T, channels) with the first target in column 0."""
    kept: list[int] = []
    series = _spread([np.asarray(v, dtype=np.float64) for v in values], CHECK_SERIES)
    for m in sorted(seasons):
        scores = [season_score(_first_column(v), m, tuple(kept)) for v in series]
        finite = [s for s in scores if np.isfinite(s)]
        if finite and float(np.mean(finite)) > MIN_SCORE:
            kept.append(m)
    return tuple(kept)


def season_score(x: np.ndarray, m: int, shorter: tuple[int, ...] = ()) -> float:
    """How clearly one series repeats every `m` steps: the correlation between its residual and the same
    residual `m` steps earlier, over its last CHECK_CYCLES cycles (at least CHECK_STEPS steps). The residual
    is the series less a centred moving average of `m` steps (the trend and level) less, for each shorter
    season already kept, the mean profile of that season (so a week is not credited with the day it
    contains). NaN when the series is too short (under two cycles), not finite, or flat."""
    x = x[-max(CHECK_CYCLES * m, CHECK_STEPS) :]
    if len(x) < 2 * m or not np.all(np.isfinite(x)):
        return float("nan")
    r = x - _centred_mean(x, m)
    phase = np.arange(len(r))
    for p in shorter:
        means = np.bincount(phase % p, weights=r, minlength=p) / np.bincount(phase % p, minlength=p)
        r = r - means[phase % p]
    a, b = r[m:], r[:-m]
    sa, sb = a.std(), b.std()
    if sa <= 1e-12 * (1 + np.abs(x).max()) or sb <= 1e-12 * (1 + np.abs(x).max()):
        return float("nan")
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def _centred_mean(x: np.ndarray, m: int) -> np.ndarray:
    """Mean of the m steps centred on each step; near the ends, of the first or last m steps, so that every mean
    spans a whole cycle (a shorter span at the ends would leave a shorter season in the residual, which then
    correlates with itself m steps later: a pure daily pattern would score as a week)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    lo = np.clip(i - m // 2, 0, max(len(x) - m, 0))
    hi = np.minimum(lo + m, len(x))
    return (c[hi] - c[lo]) / (hi - lo)


def _first_column(v: np.ndarray) -> np.ndarray:
    return v if v.ndim == 1 else v[:, 0]


def _spread(xs: list[np.ndarray], n: int) -> list[np.ndarray]:
    if len(xs) <= n:
        return xs
    return [xs[i] for i in np.linspace(0, len(xs) - 1, n).round().astype(int)]


def seasonal_lags(history: np.ndarray, m: int, horizon: int) -> np.ndarray:
    """Seasonal naive of season `m` for each horizon step from the end of `history` (time on axis 0): step h
    (1-based) takes the value at t + h - m * ceil(h / m), t the last step, so the last cycle repeats when h > m.
    Steps are rows of the series' grid: on a session calendar a season counts open slots only, and for UTC
    instants a day is 24 hours whatever the local clock does."""
    h = np.arange(1, horizon + 1)
    idx = len(history) - 1 + h - m * -(-h // m)
    if len(history) < m:
        raise ValueError(f"seasonal_lags: {len(history)} steps of history for a season of {m}")
    return np.asarray(history)[idx]


def parse_seasons(text: str) -> tuple[int, ...] | None:
    """--seasons: 'auto' -> None (from the frequency, checked on the data), 'none' -> (), '48,336' ->
    (48, 336) ascending without repeats; argparse.ArgumentTypeError on anything else."""
    word = text.strip().lower()
    if word == "auto":
        return None
    if word == "none":
        return ()
    parts = [p.strip() for p in word.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("give seasons in steps (e.g. 48,336), 'auto' or 'none'")
    out = []
    for p in parts:
        try:
            m = int(p)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{p}' is not a season in steps; give whole numbers (e.g. 48,336), 'auto' or 'none'"
            ) from None
        if m < 2:
            raise argparse.ArgumentTypeError(f"a season is at least 2 steps, got {m}")
        out.append(m)
    return tuple(sorted(set(out)))


def data_seasons(data: SeriesSet, option: tuple[int, ...] | None) -> tuple[int, ...]:
    """The seasons a model of `data` uses: `option` when given (--seasons LIST or none), else the
    frequency's candidates (two cycles in the longest series) that the data shows."""
    if option is not None:
        return option
    n_steps = int(data.lengths.max()) if data.n_series else 0
    return check_seasons([v[:, 0] for v in data.values], candidate_seasons(data.freq, n_steps))


def describe_seasons(seasons: Sequence[int], freq: Frequency | None = None) -> str:
    """'48 (a day), 336 (a week)' where the frequency names them, else '48, 336'; 'none' for ()."""
    if not seasons:
        return "none"
    names = _season_names(freq) if freq is not None else {}
    return ", ".join(f"{m} ({names[m]})" if m in names else str(m) for m in seasons)


def choice_words(choice: dict[str, Any], freq: Frequency | None = None) -> str:
    """A season choice (`tsrnn.experiment.season_choice.SeasonChoice.to_dict`, also in compare's protocol) in
    one line: 'seasons 48 (a day), 336 (a week): used, the validation block's loss 0.41 with them, 0.52
    without'."""
    seasons, candidates, how = choice.get("seasons", []), choice.get("candidates", []), choice.get("how", "")
    shown = describe_seasons(seasons or candidates, freq)
    if how == "validation":
        verdict = "used" if seasons else "not used"
        return (
            f"seasons {shown}: {verdict}, the validation block's loss {choice['val_loss_with']:.4g} with them, "
            f"{choice['val_loss_without']:.4g} without"
        )
    if how == "short":
        return f"seasons {shown}: not used, the series are too short to train with a season's history"
    if how == "seen":
        return f"seasons {shown}: the input window sees every season"
    if how == "none":
        return "seasons: none found in the data"
    return f"seasons {describe_seasons(seasons, freq)} (as asked)"


def _season_names(freq: Frequency) -> dict[int, str]:
    if freq.sessions is not None:
        return {freq.sessions.steps_per_day: "an open day", freq.sessions.steps_per_week: "a week"}
    if freq.step_us and freq.step_us < DAY and DAY % freq.step_us == 0:
        day = DAY // freq.step_us
        return {day: "a day", 7 * day: "a week"}
    return {
        "1d": {7: "a week", 365: "a year"},
        "1bd": {5: "a week"},
        "1w": {52: "a year"},
        "1mo": {12: "a year"},
        "3mo": {4: "a year"},
        "6mo": {2: "a year"},
    }.get(freq.code, {})
