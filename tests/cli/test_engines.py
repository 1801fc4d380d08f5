"""One engine, one answer: the same edge-case inputs through `--engine local` and `--engine dask` give the same
forecast, or the same error with the same exit code. The Dask side runs on one LocalCluster of 2 worker processes
for the whole module (`forecast_files` called directly), plus real command-line runs of both engines."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("distributed")
pytest.importorskip("cryptography")

STEPS = 40
INPUT_LEN, HORIZON = 7, 3
DAYS = (np.datetime64("2024-01-01") + np.arange(STEPS)).astype("datetime64[us]")


def one(k: int) -> pl.DataFrame:
    return pl.DataFrame({"day": DAYS, "sales": (10 + k + np.sin(np.arange(STEPS) / 2 + k)).round(3)})


def long(ids: list[int]) -> pl.DataFrame:
    return pl.concat([one(k).with_columns(pl.lit(f"s{k}").alias("id")) for k in ids]).select("id", "day", "sales")


def _corrupt_page(folder: Path) -> None:
    long([0]).write_parquet(folder / "a.parquet")
    long([1]).write_parquet(folder / "b.parquet", compression="uncompressed")
    data = bytearray((folder / "b.parquet").read_bytes())
    for i in range(8, 200):  # the footer stays readable; the first data pages do not
        data[i] ^= 0x5A
    (folder / "b.parquet").write_bytes(bytes(data))


def _decimal256(folder: Path) -> None:
    long([0]).write_parquet(folder / "a.parquet")
    table = long([1]).to_arrow()
    table = table.set_column(2, "sales", table.column(2).cast(pa.decimal256(40, 3)))
    pq.write_table(table, folder / "b.parquet")


@dataclass(frozen=True)
class Case:
    name: str
    write: Callable[[Path], None]
    code: int
    """Exit code of both engines."""
    message: str = ""
    """What both engines' error says (empty: both forecast)."""
    dask_forecasts: tuple[str, ...] = ()
    """Series the Dask engine still forecasts beside the files it skips (where the local engine refuses all)."""


CASES = [
    Case("one series, no id", lambda d: one(0).write_parquet(d / "a.parquet"), 0),
    Case("long format, model without id", lambda d: long([0, 1, 2]).write_parquet(d / "a.parquet"), 0),
    Case(
        "integer ids over two files",
        lambda d: [
            long([k]).with_columns(pl.lit(k, dtype=pl.Int64).alias("id")).write_parquet(d / f"{k}.parquet")
            for k in (0, 1)
        ],
        0,
    ),
    Case(
        "an empty file beside a good one",
        lambda d: [long([0]).head(0).write_parquet(d / "a.parquet"), long([1]).write_parquet(d / "b.parquet")],
        0,
    ),
    Case("a 0-row file", lambda d: one(0).head(0).write_parquet(d / "a.parquet"), 2, "a.parquet: no data rows"),
    Case(
        "two files with differing columns",
        lambda d: [
            long([0]).write_parquet(d / "a.parquet"),
            long([1]).with_columns(note=pl.lit("x")).write_parquet(d / "b.parquet"),
        ],
        2,
        "b.parquet: its columns differ from a.parquet's (it has 'note' too)",
    ),
    Case(
        "mixed time zones",
        lambda d: [
            long([0]).write_parquet(d / "a.parquet"),
            long([1]).with_columns(pl.col("day").dt.replace_time_zone("UTC")).write_parquet(d / "b.parquet"),
        ],
        2,
        "b.parquet: its columns differ from a.parquet's (it has 'day' as Datetime(time_unit='us', time_zone='UTC')",
    ),
    Case(
        "binary ids",
        lambda d: long([0, 1]).with_columns(pl.col("id").cast(pl.Binary)).write_parquet(d / "a.parquet"),
        2,
        "a.parquet: column 'id' holds Binary values",
    ),
    Case(
        "a file that is not Parquet among good ones",
        lambda d: [long([0]).write_parquet(d / "a.parquet"), (d / "b.parquet").write_bytes(b"PAR1garbagePAR1")],
        2,
        "b.parquet: not a readable Parquet file",
        dask_forecasts=("s0",),
    ),
    Case("a corrupt data page", _corrupt_page, 2, "cannot read the Parquet data", dask_forecasts=("s0",)),
    Case("a decimal256 column", _decimal256, 2, "cannot read the Parquet data", dask_forecasts=("s0",)),
    Case(
        "Parquet and CSV in one folder",
        lambda d: [long([0]).write_parquet(d / "a.parquet"), long([1]).write_csv(d / "b.csv")],
        2,
        "the folder holds CSV files (b.csv) beside its Parquet files",
    ),
    Case(
        "a folder of CSV files",
        lambda d: [long([0]).write_csv(d / "a.csv"), long([1]).write_csv(d / "b.csv")],
        2,
        "the folder holds CSV files (a.csv, b.csv); a folder or glob is read as one Parquet data set",
    ),
]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GRU trained on one series without an id column."""
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config, train_experiment

    work = tmp_path_factory.mktemp("engines")
    one(0).write_csv(work / "one.csv")
    data = load_series(work / "one.csv")
    cfg = model_config(data, input_len=INPUT_LEN, horizon=HORIZON, cell="gru", hidden_size=8, num_layers=1)
    return train_experiment(data, cfg, TrainConfig(epochs=1, threads=1)).export(work / "m.onnx").path


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    from tsrnn.distributed.engine import cluster

    with cluster(workers=2) as c:
        yield c


def local_engine(model: Path, data: Path, out: Path) -> tuple[int, str, pl.DataFrame | None]:
    from tsrnn.cli.commands import main

    err = out.parent / "local.err"
    with open(err, "w") as fh, _StderrTo(fh):
        code = main(["forecast", str(model), str(data), "--out", str(out), "--threads", "1"])
    table = pl.read_parquet(out) if out.exists() else None
    return code, err.read_text(), table


def dask_engine(client: object, model: Path, data: Path, out: Path) -> tuple[int, str, pl.DataFrame | None]:
    from tsrnn.core.errors import TsrnnError
    from tsrnn.distributed.engine import forecast_files

    try:
        summary = forecast_files(client, model, data, out)  # type: ignore[arg-type]
    except TsrnnError as exc:
        return exc.exit_code, exc.message, None
    parts = sorted(out.glob("part-*.parquet"))
    table = pl.concat([pl.read_parquet(p) for p in parts]) if parts else None
    reasons = " ".join(s.reason for s in summary.skipped)
    return (2 if summary.skipped else 0), reasons, table


class _StderrTo:
    def __init__(self, fh: object) -> None:
        self.fh = fh

    def __enter__(self) -> None:
        self.saved = sys.stderr
        sys.stderr = self.fh  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        sys.stderr = self.saved


def _sorted(table: pl.DataFrame) -> pl.DataFrame:
    return table.sort([c for c in ("id", "day") if c in table.columns])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_both_engines_give_one_answer(case: Case, model: Path, client: object, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    case.write(data)
    code, err, ours = local_engine(model, data, tmp_path / "local.parquet")
    dcode, derr, theirs = dask_engine(client, model, data, tmp_path / "results")
    assert (code, dcode) == (case.code, case.code), (err, derr)
    assert "internal error" not in err
    if case.code == 0:
        assert ours is not None and theirs is not None
        assert ours.schema == theirs.schema
        ours, theirs = _sorted(ours), _sorted(theirs)
        assert ours.select(pl.exclude("sales")).equals(theirs.select(pl.exclude("sales")))
        np.testing.assert_allclose(theirs["sales"].to_numpy(), ours["sales"].to_numpy(), rtol=1e-6)
        assert ours.height == HORIZON * (ours["id"].n_unique() if "id" in ours.columns else 1)
        return
    assert case.message in err and case.message in derr, (err, derr)
    assert ours is None  # nothing written by the local engine
    forecast = sorted(theirs["id"].unique()) if theirs is not None else []
    assert forecast == list(case.dask_forecasts)
    if case.dask_forecasts:  # the good files are forecast, the bad one is listed with its reason
        listed = pl.read_csv(tmp_path / "results" / "skipped.csv")
        assert listed["file"].to_list() == ["b.parquet"] and case.message in listed["reason"][0]
    else:
        assert not (tmp_path / "results").exists()


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "tsrnn", *map(str, args)], capture_output=True, text=True, env=env, timeout=300
    )


def test_command_line_engines_agree_on_long_data_and_refuse_mixed_folders(model: Path, tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    long([0, 1, 2]).write_parquet(good / "a.parquet")
    local = run("forecast", model, good, "--out", tmp_path / "local.parquet", "--threads", "1")
    dask = run("forecast", model, good, "--engine", "dask", "--workers", "2", "--out", tmp_path / "results")
    assert local.returncode == dask.returncode == 0, (local.stderr, dask.stderr)
    assert "3 series forecast on 2 Dask workers" in dask.stderr
    ours = _sorted(pl.read_parquet(tmp_path / "local.parquet"))
    theirs = _sorted(pl.read_parquet(tmp_path / "results" / "part-*.parquet"))
    assert ours["id"].to_list() == theirs["id"].to_list() == [f"s{k}" for k in range(3) for _ in range(HORIZON)]
    np.testing.assert_allclose(theirs["sales"].to_numpy(), ours["sales"].to_numpy(), rtol=1e-6)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    long([0]).write_parquet(mixed / "a.parquet")
    long([1]).write_csv(mixed / "b.csv")
    for engine in ("local", "dask"):
        out = run("forecast", model, mixed, "--engine", engine, "--out", tmp_path / f"mixed-{engine}")
        assert out.returncode == 2, out.stderr
        assert out.stderr.startswith(f"tsrnn: error: {mixed}: the folder holds CSV files (b.csv)"), out.stderr
        assert not (tmp_path / f"mixed-{engine}").exists()
