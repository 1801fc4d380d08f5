"""Parquet data wherever a CSV goes: a file, a folder or a glob of files, long and wide layouts, the loader's checks
and messages naming the file and row, and forecasts written as Parquet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tsrnn.core.config import DataConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.data.csvio import read_header
from tsrnn.data.loader import SeriesSet, demo_path, load_series
from tsrnn.runtime.forecastio import forecast_file, save_table
from tsrnn.runtime.inference import Forecaster

DATA = Path(__file__).parents[2] / "data"
TOURISM = DATA / "real" / "tourism_12_series.csv"


def assert_same(a: SeriesSet, b: SeriesSet) -> None:
    assert a.ids == b.ids and a.targets == b.targets and a.features == b.features
    assert a.freq == b.freq and a.utc == b.utc and a.id_col == b.id_col and a.time_col == b.time_col
    for x, y in zip(a.times, b.times, strict=True):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a.values, b.values, strict=True):
        np.testing.assert_array_equal(x, y)


def tourism() -> pl.DataFrame:
    return pl.read_csv(TOURISM, try_parse_dates=True)


def test_long_layout_reads_as_the_csv(tmp_path: Path) -> None:
    tourism().write_parquet(tmp_path / "t.parquet")
    csv, pq = load_series(TOURISM), load_series(tmp_path / "t.parquet")
    assert_same(csv, pq)
    assert pq.n_series == 12 and pq.report.rows == 960 and pq.path.name == "t.parquet"
    assert pq.raw_preview is not None and pq.raw_preview.height == 10
    assert pq.raw_preview.columns == ["time", "id", "value"]
    assert read_header(tmp_path / "t.parquet") == ["time", "id", "value"]


def test_folder_and_glob_read_every_file_in_name_order(tmp_path: Path) -> None:
    frame = tourism()
    ids = frame["id"].unique(maintain_order=True).to_list()
    folder = tmp_path / "set"
    (folder / "sub").mkdir(parents=True)
    for k, part in enumerate((ids[:5], ids[5:9], ids[9:])):  # names sort in the CSV's series order
        where = folder / "sub" if k == 2 else folder
        frame.filter(pl.col("id").is_in(part)).write_parquet(where / f"p{k}.parquet")
    (folder / "_SUCCESS").write_text("")
    frame.head(3).write_parquet(folder / ".p9.parquet.x1.tmp")  # hidden temporary files are not data
    csv = load_series(TOURISM)
    assert_same(csv, load_series(folder))
    assert_same(csv, load_series(str(folder / "**" / "*.parquet")))
    assert load_series(str(folder / "p*.parquet")).n_series == 9


def test_wide_layout_several_targets_and_features(tmp_path: Path) -> None:
    src = DATA / "two_numeric.csv"
    pl.read_csv(src, try_parse_dates=True).write_parquet(tmp_path / "w.parquet")
    for cfg in (
        DataConfig(targets=("load", "temp")),
        DataConfig(targets=("load",), features=("temp",)),
        DataConfig(targets=("load",), features="all"),
    ):
        assert_same(load_series(src, cfg), load_series(tmp_path / "w.parquet", cfg))
    with pytest.raises(ConfigError, match=r"w\.parquet: several numeric columns \(load, temp\)"):
        load_series(tmp_path / "w.parquet")


def test_only_the_needed_columns_are_read(tmp_path: Path) -> None:
    frame = tourism().with_columns(junk=pl.lit(float("inf")), tags=pl.lit([1, 2]))
    frame.write_parquet(tmp_path / "t.parquet")
    data = load_series(tmp_path / "t.parquet", DataConfig(targets=("value",)))
    assert data.n_series == 12  # neither 'junk' (infinite) nor 'tags' (lists) was read
    with pytest.raises(
        DataError,
        match=r"t\.parquet: column 'junk' has infinite values on rows 1, 2, 3, 4, 5 and "
        r"955 more",
    ):
        load_series(tmp_path / "t.parquet", DataConfig(targets=("value",), features="all"))


def test_typed_columns(tmp_path: Path) -> None:
    """Integers and booleans are numbers, categorical ids are ids, a zoned datetime is an instant in UTC (Berlin
    moves its clocks on 31 March 2024: the UTC grid stays regular)."""
    start = dt.datetime(2024, 3, 29, 23, 0)
    n = 72
    frame = pl.DataFrame(
        {
            "when": pl.datetime_range(
                start, start + dt.timedelta(hours=n - 1), "1h", eager=True, time_zone="UTC"
            ).dt.convert_time_zone("Europe/Berlin"),
            "store": pl.Series(["a"] * n).cast(pl.Categorical),
            "sales": pl.Series(np.arange(n) % 7, dtype=pl.Int32),
            "open": np.arange(n) % 2 == 0,
        }
    )
    frame.write_parquet(tmp_path / "z.parquet")
    data = load_series(tmp_path / "z.parquet", DataConfig(targets=("sales",), features=("open",), id_col="store"))
    assert data.utc and data.freq.code == "1h" and data.id_col == "store" and data.ids == ["a"]
    assert data.times[0][0] == np.datetime64("2024-03-29T23:00") and data.lengths.tolist() == [n]
    np.testing.assert_array_equal(data.values[0][:3], [[0, 1], [1, 0], [2, 1]])


@pytest.mark.parametrize(
    ("edit", "cfg", "error", "message"),
    [
        (
            lambda f: f,
            DataConfig(targets=("nope",)),
            ConfigError,
            r"t\.parquet: no column 'nope' to forecast; columns are time, id, value",
        ),
        (
            lambda f: f.with_columns(
                value=pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("x")).otherwise(pl.col("value").cast(pl.String))
            ),
            DataConfig(),
            DataError,
            r"t\.parquet: column 'value' has non-numeric values on row 6 \('x'\)",
        ),
        (
            lambda f: f.with_columns(value=pl.lit("label")),
            DataConfig(targets=("value",)),
            DataError,
            r"t\.parquet: column 'value' is not numeric, so it cannot be a target",
        ),
        (
            lambda f: f.with_columns(value=pl.lit([1.0])),
            DataConfig(targets=("value",)),
            DataError,
            r"t\.parquet: column 'value' holds List\(Float64\) values",
        ),
        (
            lambda f: f.with_columns(time=pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise(pl.col("time"))),
            DataConfig(),
            DataError,
            r"t\.parquet: column 'time' has empty timestamps on row 8$",
        ),
        (
            lambda f: f.with_columns(
                value=pl.when(pl.int_range(pl.len()) == 7).then(float("-inf")).otherwise(pl.col("value"))
            ),
            DataConfig(),
            DataError,
            r"t\.parquet: column 'value' has infinite values on row 8;",
        ),
        (
            lambda f: pl.concat([f, f.slice(3, 1)]),
            DataConfig(),
            DataError,
            r"t\.parquet: duplicated timestamps in series 'Adelaide Hills\|South Australia\|Business' in column 'time' "
            r"\(1998-10-01T00:00:00.000000; rows 4, 961\)",
        ),
        (
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 9)
                .then(pl.col("time").dt.offset_by("1d"))
                .otherwise(pl.col("time"))
                .alias("time")
            ),
            DataConfig(),
            DataError,
            r"t\.parquet: column 'time' in series '.*Business' is not on a regular quarterly grid \(row 10, e\.g\.",
        ),
        (lambda f: f.head(0), DataConfig(), DataError, r"t\.parquet: no data rows"),
    ],
)
def test_errors_name_the_file_and_row(tmp_path: Path, edit, cfg, error, message) -> None:
    edit(tourism()).write_parquet(tmp_path / "t.parquet")
    with pytest.raises(error, match=message):
        load_series(tmp_path / "t.parquet", cfg)


def test_a_gap_is_filled_as_in_the_csv(tmp_path: Path) -> None:
    frame = tourism().filter(pl.int_range(pl.len()) != 30)
    frame.write_parquet(tmp_path / "gap.parquet")
    frame.write_csv(tmp_path / "gap.csv")
    pq, csv = load_series(tmp_path / "gap.parquet"), load_series(tmp_path / "gap.csv")
    assert_same(csv, pq)
    assert pq.report.filled_rows == 1 and pq.report.notes() == csv.report.notes()


def test_errors_across_files_name_each_file(tmp_path: Path) -> None:
    frame = tourism()
    frame.head(100).write_parquet(tmp_path / "a.parquet")
    frame.slice(98, 862).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(
        DataError,
        match=r"duplicated timestamps .* \(.*; rows 99, 100 of a\.parquet, rows 1, 2 of "
        r"b\.parquet\)",
    ):
        load_series(tmp_path)
    frame.slice(100).with_columns(pl.col("value").cast(pl.Int64)).write_parquet(tmp_path / "b.parquet")
    assert load_series(tmp_path).n_series == 12  # integers in one file and floats in another are numbers alike
    frame.slice(100).drop("value").write_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match=r"b\.parquet: its columns differ from a\.parquet's \(it lacks 'value'\)"):
        load_series(tmp_path)
    (tmp_path / "b.parquet").write_text("time,id,value\n")
    with pytest.raises(DataError, match=r"b\.parquet: not a readable Parquet file"):
        load_series(tmp_path)
    with pytest.raises(DataError, match=r"no file matches"):
        load_series(tmp_path / "none" / "*.parquet")


def test_parquet_is_known_by_its_bytes(tmp_path: Path) -> None:
    tourism().write_parquet(tmp_path / "export.dat")
    assert load_series(tmp_path / "export.dat").n_series == 12


def test_forecast_reads_and_writes_parquet(demo_model: Path, tmp_path: Path) -> None:
    pl.read_csv(demo_path(), try_parse_dates=True).write_parquet(tmp_path / "airline.parquet")
    f = Forecaster.load(demo_model)
    from_csv = forecast_file(f, demo_path())
    result = forecast_file(f, tmp_path / "airline.parquet", out=tmp_path / "fc.parquet")
    assert result.table.equals(from_csv.table)  # the table shown keeps ISO text, as for a CSV
    written = pl.read_parquet(tmp_path / "fc.parquet")
    assert written.schema == pl.Schema({"time": pl.Datetime("us"), "passengers": pl.Float32})
    assert written["time"].dt.strftime("%Y-%m-%d").to_list() == from_csv.table["time"].to_list()
    np.testing.assert_array_equal(written["passengers"].to_numpy(), from_csv.table["passengers"].to_numpy())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    # the TUI's save writes the same file from the table it shows
    save_table(result.table, tmp_path / "saved.parquet", time_col="time")
    assert pl.read_parquet(tmp_path / "saved.parquet").equals(written)


def test_forecast_names_the_missing_model_columns(demo_model: Path, tmp_path: Path) -> None:
    pl.read_csv(DATA / "two_numeric.csv").write_parquet(tmp_path / "w.parquet")
    with pytest.raises(DataError, match=r"w\.parquet: columns 'passengers' are missing; the model demo\.onnx needs"):
        forecast_file(Forecaster.load(demo_model), tmp_path / "w.parquet")
