"""tsrnn tune against the best default variant: MASE on the protocol's folds, a fixed budget per dataset.

For every dataset of `bench/accuracy.md` (same series, horizon, season, folds, epoch cap and seed), `tsrnn tune`
runs for the stated budget with the ensemble of its best three trials (`--ensemble 3`, mean), and both are set
against the best of the seven default variants and seasonal naive as `bench/accuracy.md` records them (the same
folds: the table is read, not re-run).

Run: python -m bench.bench_tune [--budget 4m] [--only airline,co2]. Writes bench/accuracy_tune.md.
"""

from __future__ import annotations

import argparse
import math
import re
import tempfile
import time
from pathlib import Path

from tsrnn.core.budget import parse_budget
from tsrnn.core.config import TrainConfig
from tsrnn.experiment.pipeline import model_config
from tsrnn.tune.request import TuneRequest
from tsrnn.tune.run import run_tune

from .bench_accuracy import CASES, load_case

HERE = Path(__file__).parent


def recorded(name: str) -> tuple[str, float, float]:
    """(best variant, its MASE, seasonal naive's MASE) of a dataset in bench/accuracy.md."""
    lines = (HERE / "accuracy.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| dataset |"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    row = next(line for line in lines if line.startswith(f"| {name} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    best = next(c for c, v in zip(cols, cells, strict=False) if v.startswith("**"))
    return best, float(cells[cols.index(best)].strip("*")), float(cells[cols.index("seasonal_naive")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument("--budget", default="4m")
    parser.add_argument("--only", help="comma-separated dataset names (default: the five of bench/accuracy.md)")
    parser.add_argument("--out", type=Path, default=HERE / "accuracy_tune.md")
    args = parser.parse_args()
    cases = [c for c in CASES if c.future == () and not c.name.startswith("electricity")]
    cases = [c for c in cases if not args.only or c.name.split()[0] in args.only.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            data = load_case(case, args.data_dir, Path(tmp))
            base = model_config(data, horizon=case.horizon, num_layers=1)
            train_cfg = TrainConfig(epochs=case.epochs, patience=10, batch_size=32, seed=0)
            t0 = time.perf_counter()
            result = run_tune(
                TuneRequest(
                    data,
                    base,
                    train_cfg,
                    budget=parse_budget(args.budget),
                    folds=3,
                    season=case.season,
                    ensemble=3,
                    out_dir=Path(tmp) / case.name.split()[0],
                )
            )
            seconds = time.perf_counter() - t0
            tuned = result.best.mase if result.best else math.nan
            ens = (result.ensemble or {}).get("metrics", {}).get("mase", math.nan)
            best, single, snaive = recorded(case.name)
            won = min(tuned, ens)
            rows.append(
                f"| {case.name} | {best} {single:.3f} | {tuned:.3f} | {ens:.3f} | "
                f"{won / single:.2f}x {'(beats)' if won < single else '(does not beat)'} | {snaive:.3f} | "
                f"{won / snaive:.2f}x | {len(result.trials)} ({sum(t.state == 'pruned' for t in result.trials)} "
                f"pruned) | {seconds:.0f} | {result.best.describe() if result.best else ''} |"
            )
            print(rows[-1], flush=True)
    title = f"# tsrnn tune ({args.budget} per dataset) against the best default variant: MASE, 3-origin backtest"
    text = "\n".join(
        [
            title,
            "",
            re.sub(r"\s+", " ", __doc__.split("\n\n")[1]).strip(),
            "",
            "| dataset | best default variant | tune: best trial | tune: mean of best 3 trials | better of the two "
            "vs best variant | seasonal naive | vs seasonal naive | trials | seconds | best trial |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print(text)
    if args.only and args.out == HERE / "accuracy_tune.md":
        print("(a partial run: bench/accuracy_tune.md left as it was; give --out to keep the table)")
        return
    args.out.write_text(text)


if __name__ == "__main__":
    main()
