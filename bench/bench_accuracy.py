"""Accuracy benchmark: `tsrnn compare` on real datasets, MASE per variant and per baseline.

Protocol (the same for every dataset): the last `folds` non-overlapping horizons of the series are the
forecast origins (rolling-origin backtest); every variant trains once on the data before the first origin
with early stopping on a validation block at the end of that data, the same seed, window, horizon, hidden
size (64) and epoch budget; forecasts for all origins come from one batched ONNX Runtime call of the
exported model. MASE is scaled by the in-sample seasonal-naive MAE with the season m below (as in
shared/ANCHORS.md), averaged over the folds. Windows and horizons are those of shared/ANCHORS.md (two seasons),
except sunspots: its cycle is ~11 years, not a calendar season (m = 1), and its window is one cycle (132).
The Nord Pool electricity prices (hourly, 10 weeks) run twice: without and with their day-ahead load and wind
forecasts (`Exogenous1`, `Exogenous2`) as known-future columns (`--future`). Seasonal naive has a row at every
season of the data (`tsrnn.data.seasons`: for vic_elec the day, 48, and the week, 336); the table's seasonal_naive
column is the main season m, the others are listed beside it. MSTL (statsforecast, `compare --reference mstl`) with the
seasons of its column where statsforecast is installed. Fold sets spread over the year, against `tsrnn compare`'s
defaults: bench/fold_sets.py (bench/accuracy_seasons.md).

Ablations (`--input-len N`, `--epochs N`, `--loss mae`, `--drop-last N`, usually with `--variants`) print
their table and leave bench/accuracy.md alone: docs/models.md ("Accuracy on real data") gives what they
showed for sunspots and vic_elec.

Optional columns (`bench/tune_columns.py`): `--ensemble 3` adds the mean of the best 3 variants, scored on the
same folds; `--tune 5m` adds `tsrnn tune` with that budget for every dataset (its best trial's MASE, trials run,
wall time); both against the best single variant. A run with them and `--only` writes a table of its own
(give `--out`), never merged into accuracy.md.

Run: python -m bench.bench_accuracy [--data-dir ../shared/data] [--only airline,co2] [--folds 3]
Writes bench/accuracy.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from tsrnn.compare.request import CompareRequest
from tsrnn.compare.run import Leaderboard, parse_variants, run_compare
from tsrnn.core.config import DEFAULT_VARIANTS, DataConfig, TrainConfig
from tsrnn.data.loader import SeriesSet, load_series
from tsrnn.experiment.pipeline import model_config
from tsrnn.timeline.known import choose_known

from .statistical import mstl_mase
from .tune_columns import Tuned, extra_cells, extra_header, tune_case


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    target: str
    season: int
    horizon: int
    input_len: int
    epochs: int
    last_rows: int | None = None
    holidays: str | None = None
    """--holidays for the calendar run (the country the data comes from)."""
    mstl: tuple[int, ...] = ()
    """Seasons of an MSTL reference on the same folds (statsforecast, when installed)."""
    future: tuple[str, ...] = ()
    """Known-future columns fed to the models (--future)."""
    tz: str | None = None
    """--tz for the calendar run (UTC data recorded in this zone)."""
    seasons: tuple[int, ...] | None = None
    """The seasonal-naive rows' seasons (None: the data's, as compare finds them; (): the main season m only)."""


CASES = [
    Case("airline", "airline_passengers_monthly.csv", "passengers", 12, 12, 24, 100),
    Case("co2", "co2_weekly_mauna_loa.csv", "co2", 52, 13, 104, 20),
    Case("sunspots", "sunspots_monthly.csv", "sunspots", 1, 12, 132, 20, seasons=()),
    Case("us_gasoline", "us_gasoline_weekly.csv", "barrels", 52, 13, 104, 30),
    Case(
        "vic_elec (last 8760)",
        "vic_elec_halfhourly.csv",
        "demand",
        48,
        48,
        96,
        5,
        last_rows=8760,
        holidays="AU:VIC",
        tz="Australia/Melbourne",
        mstl=(48, 336),
    ),
    Case("electricity", "electricity_price_hourly_exog.csv", "y", 24, 24, 48, 20, mstl=(24, 168)),
    Case(
        "electricity (+future)",
        "electricity_price_hourly_exog.csv",
        "y",
        24,
        24,
        48,
        20,
        future=("Exogenous1", "Exogenous2"),
        mstl=(24, 168),
    ),
]


def load_case(case: Case, data_dir: Path, work: Path, drop_last: int = 0, calendar: str = "none") -> SeriesSet:
    """The case's series as the protocol reads it (its last rows, its target, its calendar and future inputs)."""
    path = data_dir / case.file
    if case.last_rows or drop_last:
        frame = pl.read_csv(path)
        frame = frame.head(frame.height - drop_last).tail(case.last_rows or frame.height)
        path = work / f"{path.stem}_last{case.last_rows}_drop{drop_last}.csv"
        frame.write_csv(path)
    data = load_series(path, DataConfig(targets=(case.target,), future=case.future))
    if calendar != "none" or case.future:
        holidays = case.holidays if calendar != "none" else None
        data = data.with_known(
            choose_known(data.freq, data.times, calendar, holidays, case.tz, data.future_names, case.input_len)
        )
    return data


def run_case(
    case: Case,
    data_dir: Path,
    folds: int,
    variants: str,
    work: Path,
    loss: str = "mse",
    drop_last: int = 0,
    calendar: str = "none",
    highway: bool = False,
    seasonal_skip: bool = False,
    ensemble: int = 0,
    tune: str | None = None,
) -> tuple[Leaderboard, float, float | None]:
    """Compare every variant on one dataset; return the leaderboard, the seconds it took and MSTL's MASE on the
    same folds (None where the case has no MSTL reference or statsforecast is missing)."""
    data = load_case(case, data_dir, work, drop_last, calendar)
    base = model_config(
        data,
        input_len=case.input_len,
        horizon=case.horizon,
        hidden_size=64,
        num_layers=1,
        highway=highway,
        seasonal_skip=case.season if seasonal_skip and case.season <= case.input_len else 0,
    )
    train_cfg = TrainConfig(epochs=case.epochs, patience=10, batch_size=32, lr=1e-3, seed=0, loss=loss)
    t0 = time.perf_counter()
    board = run_compare(
        CompareRequest(
            data,
            tuple(parse_variants(variants)),
            base,
            train_cfg,
            folds=folds,
            season=case.season,
            out_dir=work / case.name.split()[0],
            export_best=False,
            ensemble=ensemble,
            seasons=case.seasons,
        )
    )
    seconds = time.perf_counter() - t0
    tuned = None
    if tune:  # the tuning run's result, for the table's optional columns
        tuned = tune_case(
            data, case.horizon, case.season, case.epochs, folds, tune, work / f"tune_{case.name.split()[0]}"
        )
    mstl = mstl_mase(data, case.input_len, case.horizon, folds, case.season, case.mstl) if case.mstl else None
    return board, seconds, mstl, tuned


def table(results: list[tuple[Case, Leaderboard, float, float | None, Tuned]], variants: list[str]) -> str:
    """Markdown: one row per dataset, MASE per variant and baseline, the best marked, MSTL where measured."""
    cols = [*variants, "naive", "seasonal_naive", "drift"]
    extra = extra_header([board for _, board, _, _, _ in results], [tuned for *_, tuned in results])
    lines = [
        "| dataset | m | H | L | epochs | "
        + " | ".join(cols)
        + " | best vs seasonal naive | seasonal naive, longer seasons | MSTL | seconds |"
        + "".join(f" {h} |" for h in extra),
        "|" + "---|" * (len(cols) + 9 + len(extra)),
    ]
    for case, board, seconds, mstl, tuned in results:
        mase = {r.name: r.metrics["mase"] for r in board.rows}
        longer = {int(n.rsplit("_", 1)[1]): v for n, v in mase.items() if n.startswith("seasonal_naive_")}
        mase.setdefault("seasonal_naive", longer.pop(case.season, float("nan")))  # the main season's row (m)
        best = board.best
        cells = [f"**{mase[c]:.3f}**" if c == best else f"{mase[c]:.3f}" for c in cols]
        ratio = mase[best] / mase["seasonal_naive"]
        verdict = f"{best} {ratio:.2f}x" + (" (beats)" if ratio < 1 else " (does not beat)")
        others = ", ".join(f"{m}: {v:.3f}" for m, v in sorted(longer.items())) or "–"
        lines.append(
            f"| {case.name} | {case.season} | {case.horizon} | {case.input_len} | {case.epochs} | "
            + " | ".join(cells)
            + f" | {verdict} | {others} | {'–' if mstl is None else f'{mstl:.3f}'} | {seconds:.0f} |"
            + "".join(f" {c} |" for c in extra_cells(board, tuned, extra))
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument("--only", help="comma-separated dataset names (default: all)")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "accuracy.md")
    parser.add_argument("--input-len", type=int, help="ablation: this window for every dataset (prints only)")
    parser.add_argument("--epochs", type=int, help="ablation: this epoch budget for every dataset (prints only)")
    parser.add_argument(
        "--drop-last",
        type=int,
        default=0,
        help="ablation: end every series this many rows earlier, so the folds fall on other dates",
    )
    parser.add_argument(
        "--loss",
        default="mse",
        choices=("mse", "mae", "huber"),
        help="ablation: training loss (prints only unless mse)",
    )
    parser.add_argument("--highway", action="store_true", help="ablation: the linear highway beside the network")
    parser.add_argument(
        "--seasonal-skip",
        action="store_true",
        help="add the window's last season (m) to every network's output (--seasonal-skip m); prints only",
    )
    parser.add_argument(
        "--ensemble",
        type=int,
        default=0,
        metavar="K",
        help="add a column: the mean of the best K variants, scored on the same folds",
    )
    parser.add_argument(
        "--tune",
        metavar="BUDGET",
        help="add columns: `tsrnn tune` with this budget per dataset (e.g. 5m), its best trial's MASE",
    )
    parser.add_argument(
        "--calendar",
        default="none",
        choices=("none", "auto"),
        help="auto: calendar features by frequency, and holidays where the data has a country; "
        "writes bench/accuracy_calendar.md beside the table without them",
    )
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"no data folder {args.data_dir}: pass --data-dir with the real datasets")
    cases = [c for c in CASES if not args.only or c.name.split()[0] in args.only.split(",")]
    ablation = (
        args.input_len is not None
        or args.epochs is not None
        or args.loss != "mse"
        or args.drop_last > 0
        or args.highway
        or args.seasonal_skip
    )
    if args.input_len:
        cases = [replace(c, input_len=args.input_len) for c in cases]
    if args.epochs:
        cases = [replace(c, epochs=args.epochs) for c in cases]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            board, seconds, mstl, tuned = run_case(
                case,
                args.data_dir,
                args.folds,
                args.variants,
                Path(tmp),
                args.loss,
                args.drop_last,
                args.calendar,
                args.highway,
                args.seasonal_skip,
                args.ensemble,
                args.tune,
            )
            print(f"{case.name}: best {board.best} in {seconds:.0f} s", flush=True)
            results.append((case, board, seconds, mstl, tuned))
    names = [v.name for v in parse_variants(args.variants)]
    rows = table(results, names)
    if args.calendar != "none" and args.out.name == "accuracy.md":
        args.out = args.out.with_name("accuracy_calendar.md")
    extra = bool(args.ensemble or args.tune)  # other columns: the rows of an earlier table do not fit
    if args.only and args.out.is_file() and not ablation and not extra:  # these datasets' rows new, others kept
        rows = merge_rows(args.out.read_text(), rows)
    title = f"MASE, {args.folds}-origin rolling backtest"
    if args.calendar != "none":
        title += (
            ", with calendar features (--calendar auto) and, for vic_elec, Victorian public holidays "
            "(--holidays AU:VIC --tz Australia/Melbourne)"
        )
    if extra:
        title += ", with " + " and ".join(
            x
            for x in (
                f"the mean of the best {args.ensemble} variants" if args.ensemble else "",
                f"tsrnn tune, {args.tune} per dataset" if args.tune else "",
            )
            if x
        )
    text = f"# tsrnn accuracy: {title}\n\n" + __doc__.split("\n\n")[1] + "\n\n" + rows + "\n"
    print(text)
    if ablation:
        print(f"(ablation: loss {args.loss}; {args.out} left as it was)")
        return
    if extra and args.only and args.out.parent == Path(__file__).parent:
        print(f"(a partial run with extra columns: {args.out} left as it was; give --out to keep the table)")
        return
    args.out.write_text(text)


def merge_rows(old: str, new: str) -> str:
    """The table `new`, plus the rows of `old` for datasets `new` lacks, in CASES order."""

    def by_name(text: str) -> dict[str, str]:
        return {
            line.split("|")[1].strip(): line
            for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| dataset")
        }

    fresh, earlier = by_name(new), by_name(old)
    head = new.splitlines()[:2]
    body = [fresh.get(c.name) or earlier.get(c.name) for c in CASES]
    return "\n".join(head + [line for line in body if line])


if __name__ == "__main__":
    main()
