"""Request tables merged into one forecast give each request what it gets alone: its rows, its ids (even ids that
another request uses too), its time format and its errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from tsrnn.core.errors import TsrnnError
from tsrnn.data.loader import demo_path
from tsrnn.runtime.forecastio import forecast_frame
from tsrnn.runtime.inference import Forecaster
from tsrnn.serve.merging import Plain, forecast_tables, mergeable


def text_table(frame: pl.DataFrame, keep_numbers: bool = True) -> pl.DataFrame:
    """As a JSON request's table: time and id as text, numbers as numbers."""
    return frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns if c in ("time", "id"))


def assert_same(got: Any, want: Any) -> None:
    if isinstance(want, TsrnnError):
        assert isinstance(got, TsrnnError) and got.message == want.message
        return
    assert not isinstance(got, TsrnnError), got.message
    assert got.n_series == want.n_series and got.warnings == want.warnings
    assert got.table.columns == want.table.columns
    assert got.table.select(pl.col(pl.String)).equals(want.table.select(pl.col(pl.String)))
    for c in got.table.columns:
        if got.table[c].dtype != pl.String:
            assert got.table[c].to_list() == pytest.approx(want.table[c].to_list(), rel=1e-4, abs=1e-4)


def alone(model: Forecaster, frame: pl.DataFrame) -> Any:
    try:
        return forecast_frame(model, frame, "request")
    except TsrnnError as exc:
        return exc


def test_many_series_with_future_rows_and_shared_ids(serve_models: dict[str, Path], tmp_path: Path, kit: Any) -> None:
    full = text_table(pl.read_csv(kit.write_rich(tmp_path / "rich.csv", future=True)))
    ids = full["id"].unique(maintain_order=True).to_list()
    frames = [
        full.filter(pl.col("id").is_in(ids[:3])),
        full.filter(pl.col("id").is_in(ids[3:20])),
        full.filter(pl.col("id") == ids[0]).with_columns(pl.col("load") * 2),  # the id of the first request
        full.filter(pl.col("id").is_in(ids[20:])).select(["promo", "load", "time", "id"]),  # another order
    ]
    with Forecaster.load(serve_models["rich"]) as model:
        assert all(mergeable(model, f, f["id"].n_unique()) for f in frames)
        for got, f in zip(forecast_tables(model, frames), frames, strict=True):
            assert_same(got, alone(model, f))


def test_a_failing_request_sends_the_group_back_one_by_one(serve_models: dict[str, Path]) -> None:
    demo = text_table(pl.read_csv(demo_path()))
    daily = pl.DataFrame(
        {"time": [f"2024-01-{d:02d}" for d in range(1, 31)], "passengers": [float(d) for d in range(30)]}
    )
    frames = [demo, demo.with_columns(pl.col("passengers") * 3), demo.head(30), daily, demo.tail(40)]
    with Forecaster.load(serve_models["ens"]) as model:
        results = forecast_tables(model, frames)
        for got, f in zip(results, frames, strict=True):
            assert_same(got, alone(model, f))
    assert isinstance(results[3], TsrnnError) and "daily" in results[3].message


def plain_request(frame: pl.DataFrame) -> Plain:
    """A JSON request's columns as the server holds them, and its table for the full loader."""
    columns = {c: frame[c].to_list() for c in frame.columns}
    return Plain(columns, lambda: frame)


@pytest.mark.parametrize("name", ["demo", "ens"])
def test_plain_requests_merge_through_the_express_lane(
    serve_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Plain requests are read together (one pass of the express lane, one ONNX Runtime call) and each gets what
    it gets alone; a request the lane steps aside for (values as text, an empty cell) sends the group through
    the full loader, still merged; a failing or warning one sends each request alone."""
    demo = pl.read_csv(demo_path()).with_columns(pl.col("passengers").cast(pl.Float64))
    good = [demo, demo.with_columns(pl.col("passengers") * 3), demo.tail(40), demo.tail(36)]
    with Forecaster.load(serve_models[name]) as model:
        calls: list[int] = []
        run = model.predict_outputs
        monkeypatch.setattr(model, "predict_outputs", lambda *a: calls.append(1) or run(*a))
        results = forecast_tables(model, [plain_request(f) for f in good])
        assert calls == [1], "the plain requests were not merged"
        for got, f in zip(results, good, strict=True):
            assert_same(got, alone(model, text_table(f)))
        as_text = demo.with_columns(pl.col("passengers").cast(pl.String))
        mixed = [*good[:2], as_text]
        calls.clear()
        results = forecast_tables(model, [plain_request(f) for f in mixed])
        assert len(calls) == 2  # the numbers' tables merged through the full loader, the text table alone
        for got, f in zip(results, mixed, strict=True):
            assert_same(got, alone(model, f))
        gap = demo.filter(pl.col("time") != demo["time"][-3])  # interpolated in the window: a warning
        failing = [*good[:2], demo.head(10), gap]
        results = forecast_tables(model, [plain_request(f) for f in failing])
        for got, f in zip(results, failing, strict=True):
            assert_same(got, alone(model, f))
        assert isinstance(results[2], TsrnnError) and not isinstance(results[3], TsrnnError)
        assert results[3].warnings


def test_each_request_keeps_its_own_time_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Daily requests merged, some at midnight (their forecast times as dates), one at noon (as datetimes): each
    answer's times are written as that request alone gets them, plain or through the full loader."""
    from tsrnn.cli.commands import main

    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-05-01"))
    values = 10 + np.sin(np.arange(len(days)) * 2 * np.pi / 7) + np.random.default_rng(0).normal(0, 0.1, len(days))
    pl.DataFrame({"time": [str(d) for d in days], "y": values}).write_csv(tmp_path / "daily.csv")
    model_path = tmp_path / "daily.onnx"
    args = ["train", str(tmp_path / "daily.csv"), "--hidden", "4", "--layers", "1", "--epochs", "1",
            "--input-len", "14", "--horizon", "7", "--seasons", "none", "--threads", "1", "--out", str(model_path),
            "--json"]  # fmt: skip
    assert main(args) == 0
    at_midnight = pl.DataFrame({"time": [f"{d}T00:00:00" for d in days[-30:]], "y": values[-30:]})
    at_noon = at_midnight.with_columns(pl.col("time").str.replace("T00:", "T12:"))
    frames = [at_midnight, at_noon, at_midnight.with_columns(pl.col("y") * 2)]
    with Forecaster.load(model_path) as model:
        calls: list[int] = []
        run = model.predict_outputs
        monkeypatch.setattr(model, "predict_outputs", lambda *a: calls.append(1) or run(*a))
        for requests in ([plain_request(f) for f in frames], [text_table(f) for f in frames]):
            calls.clear()
            results = forecast_tables(model, requests)  # type: ignore[arg-type]
            assert calls == [1], "not merged"
            for got, f in zip(results, frames, strict=True):
                assert_same(got, alone(model, text_table(f)))
            assert not isinstance(results[0], TsrnnError) and not isinstance(results[1], TsrnnError)
            assert results[0].table["time"][0] == "2024-05-01" and results[1].table["time"][0] == "2024-05-01T12:00:00"
