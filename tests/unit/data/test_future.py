"""Known-future columns of the user's own: from the same file's trailing rows or a future-values file, with
an error naming the series, the first missing time and the column for anything that does not fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tsrnn.core.config import DataConfig, TrainConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster
from tsrnn.timeline.known import choose_known

REAL = Path(__file__).parents[2] / "data" / "real"
PRICES = REAL / "electricity_price_hourly_exog.csv"
FUTURE = REAL / "electricity_price_future_exog.csv"
COLUMNS = ("Exogenous1", "Exogenous2", "day_0", "day_1", "day_2", "day_3", "day_4", "day_5", "day_6")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = load_series(PRICES, DataConfig(future=COLUMNS))
    assert data.id_col == "unique_id" and data.time_col == "ds" and data.targets == ["y"]  # Nixtla's names
    assert data.future_names == list(COLUMNS) and data.values[0].shape == (1680, 1)
    data = data.with_known(choose_known(data.freq, data.times, "none", future=data.future_names))
    exp = train_experiment(data, model_config(data, cell="gru", hidden_size=8, num_layers=1), TrainConfig(epochs=1))
    return exp.export(tmp_path_factory.mktemp("future") / "prices.onnx").path


def same_file(tmp_path: Path, rows: int = 24) -> Path:
    """The price file with the future file's rows appended, price empty."""
    prices, future = pl.read_csv(PRICES, infer_schema=False), pl.read_csv(FUTURE, infer_schema=False)
    future = future.head(rows).with_columns(pl.lit(None, pl.String).alias("y")).select(prices.columns)
    out = tmp_path / "with_future.csv"
    pl.concat([prices, future]).write_csv(out)
    return out


def test_metadata_and_both_sources_agree(model: Path, tmp_path: Path) -> None:
    f = Forecaster.load(model)
    assert f.meta.future == COLUMNS and f.meta.known == COLUMNS
    a = forecast_file(f, PRICES, future_csv=FUTURE)
    b = forecast_file(f, same_file(tmp_path))
    assert a.table["ds"].to_list()[0] == "2018-12-24T00:00:00" and a.table.height == 24
    np.testing.assert_allclose(a.table["y"].to_numpy(), b.table["y"].to_numpy(), rtol=1e-6)
    assert b.warnings == []  # the trailing rows were the future rows, not a dropped tail
    # the future values matter: other loads give another forecast
    edited = pl.read_csv(FUTURE).with_columns(pl.col("Exogenous1") * 1.5)
    edited.write_csv(tmp_path / "edited.csv")
    c = forecast_file(f, PRICES, future_csv=tmp_path / "edited.csv")
    assert not np.allclose(a.table["y"].to_numpy(), c.table["y"].to_numpy())


def test_horizon_not_covered(model: Path, tmp_path: Path) -> None:
    f = Forecaster.load(model)
    with pytest.raises(
        DataError,
        match=r"series 'NP' has no value of 'Exogenous1' for 2018-12-24T00:00:00 "
        r"\(24 of the horizon's cells are missing\)",
    ):
        forecast_file(f, PRICES)
    with pytest.raises(
        DataError,
        match=r"with_future.csv: series 'NP' has no value of 'Exogenous1' for "
        r"2018-12-24T20:00:00 \(4 of",
    ):
        forecast_file(f, same_file(tmp_path, rows=20))
    pl.read_csv(FUTURE).head(23).write_csv(tmp_path / "short.csv")
    with pytest.raises(DataError, match=r"short.csv: series 'NP' has no value of 'Exogenous1' for 2018-12-24T23:00:00"):
        forecast_file(f, PRICES, future_csv=tmp_path / "short.csv")
    hole = pl.when(pl.col("ds").str.ends_with("05:00:00")).then(None).otherwise(pl.col("Exogenous2"))
    pl.read_csv(FUTURE).with_columns(hole.alias("Exogenous2")).write_csv(tmp_path / "hole.csv")
    with pytest.raises(DataError, match=r"no value of 'Exogenous2' for 2018-12-24T05:00:00 \(1 of"):
        forecast_file(f, PRICES, future_csv=tmp_path / "hole.csv")


def test_extra_rows_unknown_series_and_columns(model: Path, tmp_path: Path) -> None:
    f = Forecaster.load(model)
    frame = pl.read_csv(FUTURE)
    later = frame.tail(1).with_columns(pl.lit("2018-12-25 00:00:00").alias("ds"))
    pl.concat([frame, later]).write_csv(tmp_path / "long.csv")
    with pytest.raises(
        DataError,
        match=r"long.csv: 1 row\(s\) fall outside the 24 steps the model prices.onnx "
        r"forecasts \(e.g. series 'NP' at 2018-12-25T00:00:00, line 26\)",
    ):
        forecast_file(f, PRICES, future_csv=tmp_path / "long.csv")
    pl.concat([frame, frame.head(1).with_columns(pl.lit("XX").alias("unique_id"))]).write_csv(tmp_path / "other.csv")
    with pytest.raises(DataError, match=r"e.g. series 'XX' at 2018-12-24T00:00:00"):
        forecast_file(f, PRICES, future_csv=tmp_path / "other.csv")
    frame.with_columns(pl.lit(1.0).alias("promo")).write_csv(tmp_path / "promo.csv")
    with pytest.raises(DataError, match=r"columns 'promo' are not known to the model prices.onnx"):
        forecast_file(f, PRICES, future_csv=tmp_path / "promo.csv")
    frame.drop("Exogenous2").write_csv(tmp_path / "lacks.csv")
    with pytest.raises(DataError, match=r"lacks.csv: no column 'Exogenous2'"):
        forecast_file(f, PRICES, future_csv=tmp_path / "lacks.csv")


def test_values_beyond_float32_refused(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The model reads 32-bit floats: 1e39 would become an infinite input and an infinite forecast."""
    from tsrnn.cli.commands import main

    frame = pl.read_csv(FUTURE, infer_schema=False)
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("1e39")).otherwise(pl.col("Exogenous2")).alias("Exogenous2")
    ).write_csv(tmp_path / "huge.csv")
    with pytest.raises(
        DataError,
        match=r"huge.csv: column 'Exogenous2' has a value too large for 32-bit floats "
        r"\(above 3.4e\+38\) on line 7 \('1e39'\)",
    ):
        forecast_file(Forecaster.load(model), PRICES, future_csv=tmp_path / "huge.csv")
    out = tmp_path / "forecast.csv"
    code = main(["forecast", str(model), str(PRICES), "--future-csv", str(tmp_path / "huge.csv"), "--out", str(out)])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "huge.csv: column 'Exogenous2' has a value too large" in err and "Traceback" not in err
    # the same check on the future rows of the data file itself
    prices = pl.read_csv(PRICES, infer_schema=False)
    rows = frame.head(24).with_columns(pl.lit(None, pl.String).alias("y"), pl.lit("-2e39").alias("day_3"))
    pl.concat([prices, rows.select(prices.columns)]).write_csv(tmp_path / "same.csv")
    with pytest.raises(DataError, match=r"same.csv: column 'day_3' has values? too large for 32-bit floats"):
        forecast_file(Forecaster.load(model), tmp_path / "same.csv")


def test_future_columns_at_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no column 'promo' for --future"):
        load_series(PRICES, DataConfig(future=("promo",)))
    with pytest.raises(ConfigError, match="'y' is a target"):
        load_series(PRICES, DataConfig(future=("y",)))
    plain = Forecaster.load(_plain_model(tmp_path))
    with pytest.raises(ConfigError, match="has no future columns"):
        forecast_file(plain, PRICES, future_csv=FUTURE)


def _plain_model(tmp_path: Path) -> Path:
    data = load_series(PRICES, DataConfig(targets=("y",)))
    exp = train_experiment(data, model_config(data, cell="gru", hidden_size=4, num_layers=1), TrainConfig(epochs=1))
    return exp.export(tmp_path / "plain.onnx").path
