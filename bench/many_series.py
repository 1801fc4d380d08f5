"""Make a long-format CSV of very many series from the real tourism shapes, for the scale benchmark.

Each of the 304 quarterly tourism series (80 quarters) is copied as many times as needed; copy k of a
series is scaled by a random level factor (log-uniform, 0.2x to 5x), gets multiplicative noise
(sd 5 %) and is shifted in time by 0 to 3 years, so the file has real seasonal shapes but no two identical
series. Values stay non-negative.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl


def make(source: Path, n_series: int, seed: int = 0) -> pl.DataFrame:
    base = pl.read_csv(source).sort("id", "time")
    ids = base["id"].unique(maintain_order=True).to_list()
    values = base["value"].to_numpy().reshape(len(ids), -1)  # (304, 80)
    length = values.shape[1]
    rng = np.random.default_rng(seed)
    pick = np.arange(n_series) % len(ids)
    level = np.exp(rng.uniform(np.log(0.2), np.log(5.0), n_series))[:, None]
    noise = rng.normal(1.0, 0.05, (n_series, length)).clip(0.5, 1.5)
    data = np.round(values[pick] * level * noise, 3)
    start_year = 1998 - rng.integers(0, 4, n_series)
    quarters = np.arange(length)
    years = start_year[:, None] + quarters[None, :] // 4
    months = 1 + 3 * (quarters % 4)
    times = np.char.add(np.char.add(years.astype(str), "-"), np.char.zfill(months.astype(str), 2))
    times = np.char.add(np.broadcast_to(times, (n_series, length)), "-01")
    return pl.DataFrame(
        {
            "time": times.reshape(-1),
            "id": np.repeat(np.char.add("s", np.arange(n_series).astype(str)), length),
            "value": data.reshape(-1),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).parents[2] / "shared" / "data" / "tourism_quarterly_long.csv"
    parser.add_argument("--source", type=Path, default=default)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    make(args.source, args.series).write_csv(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
