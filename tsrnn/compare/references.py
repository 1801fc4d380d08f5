"""Statistical references in compare's leaderboard: MSTL and AutoETS (statsforecast, the optional `stats` extra),
scored on the compare's own folds (same origins, horizon and MASE scale) and shown beside the networks so that a
user sees where the best network stands; a reference is never the winner and never exported.

- mstl: MSTL with every season of the data (the day and the week of half-hourly data: 48 and 336), each with two
  full cycles before the first origin; its trend is forecast by AutoETS (statsforecast's default).
- ets: AutoETS with the main season (MASE's), non-seasonal where two cycles do not fit.

Every series and target is fitted on its own, once per fold, on all the history before the origin. statsforecast
is imported only here, inside the functions that fit, never on the forecast path.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tsrnn.core.errors import ConfigError
from tsrnn.core.extras import MissingExtraError

if TYPE_CHECKING:
    from tsrnn.compare.leaderboard import Row
    from tsrnn.evaluate.backtest import Folds

REFERENCES = ("mstl", "ets")
"""The references `compare --reference` accepts, in the order their rows are built."""
PACKAGE = "statsforecast"
EXTRA = "stats"


@dataclass(frozen=True)
class Reference:
    """One reference model as fitted: its name, its seasons and its words."""

    name: str
    seasons: tuple[int, ...]

    @property
    def label(self) -> str:
        """'MSTL (seasons 48, 336)' or 'AutoETS (season 48)', as the leaderboard shows it."""
        if self.name == "mstl":
            return f"MSTL (season{'s' if len(self.seasons) > 1 else ''} {', '.join(map(str, self.seasons))})"
        return f"AutoETS ({f'season {self.seasons[0]}' if self.seasons else 'no season'})"


def parse_references(text: str | None) -> tuple[str, ...]:
    """'mstl,ets' -> ('mstl', 'ets'); 'none' or '' -> (); an unknown name is refused with the valid ones."""
    if text is None or text.strip().lower() in ("", "none"):
        return ()
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in REFERENCES]
    if unknown:
        raise ConfigError(
            f"unknown --reference '{unknown[0]}': choose from {', '.join(REFERENCES)} (comma-separated), or none"
        )
    return tuple(n for n in REFERENCES if n in names)


def check_available(names: tuple[str, ...]) -> None:
    """Refuse, before any work, references whose package is not installed."""
    if not names:
        return
    if importlib.util.find_spec(PACKAGE) is None:
        raise MissingExtraError(
            f"--reference {','.join(names)} needs the optional package '{PACKAGE}', which is not installed; "
            f"install it with: pip install 'tsrnn[{EXTRA}]' (or leave out --reference)"
        )


def plan_references(
    names: tuple[str, ...], seasons: tuple[int, ...], season: int, shortest: int
) -> dict[str, Reference | str]:
    """Each reference with the seasons it fits, or the reason it cannot run: MSTL every season of the data and the
    main one, ETS the main season (`season`); a season needs two full cycles in `shortest` rows, the shortest
    history before an origin."""

    def fit(ms: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted({m for m in ms if m > 1 and shortest >= 2 * m}))

    out: dict[str, Reference | str] = {}
    for name in names:
        if name == "mstl":
            ms = fit((season, *seasons))
            out[name] = (
                Reference(name, ms)
                if ms
                else f"no season with two full cycles in the {shortest} rows before the first origin"
            )
        else:
            out[name] = Reference(name, fit((season,)))
    return out


def reference_forecast(ref: Reference, insample: list[np.ndarray], horizon: int) -> np.ndarray:
    """(len(insample), horizon, targets): the reference fitted on each history, one series and target at a
    time. Raises RuntimeError naming the history that statsforecast could not fit."""
    out = np.empty((len(insample), horizon, insample[0].shape[1]), dtype=np.float64)
    for i, y in enumerate(insample):
        for t in range(y.shape[1]):
            out[i, :, t] = _fit_one(ref, np.asarray(y[:, t], dtype=np.float64), horizon, i)
    return out


def _fit_one(ref: Reference, y: np.ndarray, horizon: int, where: int) -> np.ndarray:
    # Here, not at the top: statsforecast is the optional stats extra, needed only when a reference is fitted.
    from statsforecast.models import MSTL, AutoETS

    model: Any = MSTL(season_length=list(ref.seasons)) if ref.name == "mstl" else AutoETS(season_length=_m(ref))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsforecast's numerical warnings on flat or short stretches
            mean = model.fit(y).predict(h=horizon)["mean"]
    except Exception as exc:  # statsforecast raises plain Exceptions ("no model able to be fitted")
        raise RuntimeError(f"statsforecast could not fit history {where} ({len(y)} rows): {exc}") from None
    return np.asarray(mean, dtype=np.float64)


def _m(ref: Reference) -> int:
    return ref.seasons[0] if ref.seasons else 1


def reference_rows(
    names: tuple[str, ...], folds: Folds, seasons: tuple[int, ...], season: int
) -> tuple[list[Row], dict[str, Any]]:
    """The references' leaderboard rows, scored like the baselines (MASE scale: `season`), and what the protocol
    records of them: {'mstl': {'label', 'seasons', 'seconds'} or {'skipped': why}}."""
    # Here, not at the top: loads polars, which parsing --reference (the command line) does not need.
    from tsrnn.compare.leaderboard import Row
    from tsrnn.evaluate.backtest import fold_scores, summarise

    shortest = min(len(y) for y in folds.insample)
    rows: list[Row] = []
    record: dict[str, Any] = {}
    for name, ref in plan_references(names, seasons, season, shortest).items():
        if isinstance(ref, str):
            record[name] = {"skipped": ref}
            continue
        t0 = time.perf_counter()
        try:
            forecast = reference_forecast(ref, folds.insample, folds.horizon)
        except RuntimeError as exc:
            record[name] = {"skipped": str(exc)}
            continue
        seconds = time.perf_counter() - t0
        metrics = summarise(fold_scores(folds, forecast, season))
        rows.append(Row(name, "reference", metrics, train_seconds=seconds, label=ref.label))
        record[name] = {"label": ref.label, "seasons": list(ref.seasons), "seconds": round(seconds, 2)}
    return rows, record
