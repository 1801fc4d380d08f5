"""The accuracy table's optional columns: the ensemble of the best compare variants (`--ensemble K`) and a tuning
run with a fixed budget per dataset (`--tune BUDGET`), each against the best single default variant.

Both are scored on the compare's folds: the ensemble row combines its members' fold forecasts; the tuning run
scores every trial on the same origins (`tsrnn.tune.run`), and its column is the best trial's MASE.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from tsrnn.compare.run import Leaderboard
from tsrnn.core.budget import parse_budget
from tsrnn.core.config import TrainConfig
from tsrnn.data.loader import SeriesSet
from tsrnn.experiment.pipeline import model_config
from tsrnn.tune.request import TuneRequest
from tsrnn.tune.run import run_tune

Tuned = dict[str, Any] | None
"""A dataset's tuning run as `tune_case` sums it up, or None without one."""


def tune_case(
    data: SeriesSet, horizon: int, season: int, epochs: int, folds: int, budget: str, work: Path
) -> dict[str, Any]:
    """Tune one dataset for `budget`: the same horizon, season, folds, epoch cap and seed as its compare."""
    base = model_config(data, horizon=horizon, num_layers=1)
    train_cfg = TrainConfig(epochs=epochs, patience=10, batch_size=32, seed=0)
    t0 = time.perf_counter()
    result = run_tune(
        TuneRequest(data, base, train_cfg, budget=parse_budget(budget), folds=folds, season=season, out_dir=work)
    )
    best = result.best
    return {
        "mase": best.mase if best else math.nan,
        "trials": len(result.trials),
        "pruned": sum(t.state == "pruned" for t in result.trials),
        "budget": budget,
        "seconds": time.perf_counter() - t0,
        "best": best.describe() if best else "",
    }


def extra_header(boards: list[Leaderboard], tuned: list[Tuned]) -> list[str]:
    """The optional columns present in any of these runs (`tuned`: each board's tuning run, or None)."""
    ensemble = next((r.name for b in boards for r in b.rows if r.kind == "ensemble"), None)
    budget = next((t["budget"] for t in tuned if t), None)
    out = [ensemble] if ensemble else []
    if budget:
        out += [f"tune ({budget}): MASE, trials", "tune s"]
    if out:
        out.append("vs best variant")
    return out


def extra_cells(board: Leaderboard, tuned: Tuned, header: list[str]) -> list[str]:
    mase = {r.name: r.metrics["mase"] for r in board.rows}
    single = mase.get(board.best, math.nan)
    cells, ratios = [], []
    for h in header:
        if h.startswith("ensemble-"):
            value = mase.get(h, math.nan)
            cells.append(f"{value:.3f}")
            ratios.append(f"ens {value / single:.2f}x")
        elif h.startswith("tune ("):
            t = tuned
            cells.append(f"{t['mase']:.3f} ({t['trials']}, {t['pruned']} pruned)" if t else "–")
            if t:
                ratios.append(f"tune {t['mase'] / single:.2f}x")
        elif h == "tune s":
            t = tuned
            cells.append(f"{t['seconds']:.0f}" if t else "–")
        elif h == "vs best variant":
            cells.append(f"{board.best} {single:.3f}: " + ", ".join(ratios))
    return cells
