"""Fold sets spread over the year: `tsrnn compare` with its defaults against MSTL and seasonal naive at every
season, on the same folds.

For each dataset and fold set, the CSV is cut where the fold set ends (the last 3 days of the file, or 30, 90 and
180 days earlier) and, for vic_elec, to the year of rows before that end (8760 half-hours, as bench/accuracy.md
reads it); the cut file's last 3 horizons are the origins of every row:
- default winner: the row that `tsrnn compare FILE --target COL` picks with its defaults (the command line itself,
  in this process: its default budget, variants, window and seasons), and the best network when a baseline wins;
- MSTL with the data's seasons (statsforecast; `tsrnn.compare.references`, as `compare --reference mstl`), fitted on
  all the history before each origin;
- seasonal naive at each season;
all scored with compare's MASE (scaled by the in-sample seasonal-naive MAE of the main season, the day).
The wall time is that of the compare command alone.

Run: python -m bench.fold_sets [--data-dir ../shared/data] [--only vic_elec] [--sets 0,30] [--stat-only]
     [--budget 90s] [--variants gru] [--out bench/accuracy_seasons.md]
--stat-only skips the networks (MSTL and seasonal naive only: a minute or two); the full run compares 5 fold sets
at compare's default 5-minute budget each (about 25 minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tsrnn.compare.references import reference_rows
from tsrnn.core.config import DataConfig
from tsrnn.data.loader import load_series
from tsrnn.evaluate.backtest import baseline_forecasts, fold_scores, make_folds, summarise

FOLDS = 3


@dataclass(frozen=True)
class FoldSetCase:
    name: str
    file: str
    target: str
    season: int
    """The main season: MASE's scale."""
    seasons: tuple[int, ...]
    """MSTL's seasons and the seasonal-naive rows."""
    horizon: int
    steps_per_day: int
    days_back: tuple[int, ...]
    """Where each fold set ends: this many days before the end of the file."""
    last_rows: int | None = None


CASES = [
    FoldSetCase("vic_elec", "vic_elec_halfhourly.csv", "demand", 48, (48, 336), 48, 48, (0, 30, 90, 180), 8760),
    FoldSetCase("electricity", "electricity_price_hourly_exog.csv", "y", 24, (24, 168), 24, 24, (0,)),
]


def cut(case: FoldSetCase, data_dir: Path, days_back: int, work: Path) -> Path:
    """The case's CSV ending `days_back` days before the file's end (its last `last_rows` rows before that)."""
    frame = pl.read_csv(data_dir / case.file)
    frame = frame.head(frame.height - days_back * case.steps_per_day)
    if case.last_rows:
        frame = frame.tail(case.last_rows)
    path = work / f"{case.name}_{days_back}d.csv"
    frame.write_csv(path)
    return path


def statistical(case: FoldSetCase, path: Path) -> dict[str, Any]:
    """MSTL and seasonal naive at each season on the compare's folds: {'mstl': MASE, 'mstl_s': seconds,
    'seasonal_naive_48': MASE, ...}."""
    data = load_series(path, DataConfig(targets=(case.target,)))
    folds = make_folds(data, 2 * case.horizon, case.horizon, FOLDS)  # the window does not change origins or scores
    out: dict[str, Any] = {}
    for name, forecast in baseline_forecasts(folds, case.season, case.seasons).items():
        if name.startswith("seasonal_naive"):
            out[name] = summarise(fold_scores(folds, forecast, case.season))["mase"]
    rows, record = reference_rows(("mstl",), folds, case.seasons, case.season)
    out["mstl"] = rows[0].metrics["mase"] if rows else float("nan")
    out["mstl_s"] = record["mstl"].get("seconds", float("nan"))
    return out


def default_compare(case: FoldSetCase, path: Path, work: Path, extra: list[str]) -> dict[str, Any]:
    """`tsrnn compare FILE --target COL` with its defaults (and `extra` options): the winner, the best network,
    their MASE and the seconds it took."""
    from tsrnn.cli.commands import main

    out_dir = work / f"compare_{path.stem}"
    argv = ["compare", str(path), "--target", case.target, "--out-dir", str(out_dir), "--json", *extra]
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    seconds = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"tsrnn {' '.join(argv)} exited with {rc}")
    board = json.loads(buf.getvalue())
    mase = {r["name"]: r["metrics"]["mase"] for r in board["rows"]}
    return {
        "winner": board["winner"],
        "winner_mase": mase[board["winner"]],
        "best": board["best"],
        "best_mase": mase.get(board["best"], float("nan")),
        "seconds": seconds,
        "seasons": board["protocol"].get("seasons"),
        "season_choice": board["protocol"].get("season_choice"),
    }


def run(
    cases: list[FoldSetCase], data_dir: Path, sets: list[int] | None, stat_only: bool, extra: list[str]
) -> list[tuple[FoldSetCase, int, dict[str, Any]]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for case in cases:
            for back in case.days_back:
                if sets is not None and back not in sets:
                    continue
                path = cut(case, data_dir, back, work)
                row = statistical(case, path)
                if not stat_only:
                    row.update(default_compare(case, path, work, extra))
                print(f"{case.name}, {back} days back: {row}", flush=True)
                results.append((case, back, row))
    return results


def table(results: list[tuple[FoldSetCase, int, dict[str, Any]]]) -> str:
    """One row per fold set, and the mean over a dataset's fold sets."""
    lines = [
        "| dataset | fold set | default winner | its MASE | best network | MSTL | MSTL s | seasonal naive "
        "(each season) | compare s |",
        "|---|---|---|---:|---|---:|---:|---|---:|",
    ]
    by_case: dict[str, list[dict[str, Any]]] = {}
    for case, back, r in results:
        by_case.setdefault(case.name, []).append(r)
        lines.append(_line(case.name, "last 3 days" if back == 0 else f"{back} days earlier", r))
    for name, rs in by_case.items():
        if len(rs) > 1:
            keys = {k for r in rs for k, v in r.items() if isinstance(v, float)}
            mean = {k: float(np.mean([r[k] for r in rs if k in r])) for k in keys}
            lines.append(_line(f"**{name}**", f"mean of {len(rs)}", mean))
    return "\n".join(lines)


def _line(name: str, where: str, r: dict[str, Any]) -> str:
    naive = ", ".join(
        f"{m}: {r[f'seasonal_naive_{m}']:.3f}"
        for m in sorted(int(k.rsplit("_", 1)[-1]) for k in r if k.startswith("seasonal_naive_"))
    )
    winner = f"{r['winner']}" if "winner" in r else "–"
    choice = r.get("season_choice") or {}
    if choice.get("how") == "validation":  # the networks' seasons, as the brief trainings chose them
        winner += f" (profile {'on' if choice['seasons'] else 'off'})"
    best = f"{r['best']} {r['best_mase']:.3f}" if "best" in r else ("–" if "winner_mase" not in r else "")
    its = f"{r['winner_mase']:.3f}" if "winner_mase" in r else "–"
    secs = f"{r['seconds']:.0f}" if "seconds" in r else "–"
    return f"| {name} | {where} | {winner} | {its} | {best} | {r['mstl']:.3f} | {r['mstl_s']:.1f} | {naive} | {secs} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument("--only", help="comma-separated dataset names (default: all)")
    parser.add_argument("--sets", help="comma-separated days back (default: every fold set of a dataset)")
    parser.add_argument("--stat-only", action="store_true", help="MSTL and seasonal naive only, no compare")
    parser.add_argument("--budget", help="compare's --budget (default: compare's own default)")
    parser.add_argument("--variants", help="compare's --variants (default: compare's own default)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "accuracy_seasons.md")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"no data folder {args.data_dir}: pass --data-dir with the real datasets")
    cases = [c for c in CASES if not args.only or c.name in args.only.split(",")]
    sets = [int(x) for x in args.sets.split(",")] if args.sets else None
    extra = [
        *(["--budget", args.budget] if args.budget else []),
        *(["--variants", args.variants] if args.variants else []),
    ]
    text = (
        "# tsrnn accuracy: fold sets spread over the year, compare's defaults against MSTL and seasonal naive\n\n"
        + __doc__.split("\n\n")[1]
        + "\n\n"
        + table(run(cases, args.data_dir, sets, args.stat_only, extra))
        + "\n"
    )
    print(text)
    partial = args.stat_only or args.budget or args.variants or args.only or args.sets
    if partial and args.out.parent == Path(__file__).parent:
        print(f"(a partial run: {args.out} left as it was; give --out to keep the table)")
        return
    args.out.write_text(text)


if __name__ == "__main__":
    main()
