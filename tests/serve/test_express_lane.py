"""A plain JSON request (ISO times, numbers, text ids) skips the full loader and gets the answer the full loader
gives; any other goes through it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import tsrnn.runtime.forecastio as forecastio
from tsrnn.core.errors import TsrnnError
from tsrnn.data.loader import demo_path
from tsrnn.runtime.forecastio import ForecastResult, forecast_frame
from tsrnn.runtime.inference import Forecaster
from tsrnn.serve.bodies import Direct, Limits, forecast_body, json_tables, parse_json


def answer(model: Forecaster, request: dict[str, Any]) -> ForecastResult | TsrnnError:
    try:
        return forecast_body(model, json.dumps(request).encode(), "application/json", Limits(), Direct(model))
    except TsrnnError as exc:
        return exc


def full(model: Forecaster, request: dict[str, Any]) -> ForecastResult | TsrnnError:
    """The request's table through the full loader, as `tsrnn forecast` reads a file."""
    frame, future, _ = json_tables(model, parse_json(json.dumps(request).encode()), Limits())
    try:
        return forecast_frame(model, frame, "request", future)
    except TsrnnError as exc:
        return exc


def assert_same(got: ForecastResult | TsrnnError, want: ForecastResult | TsrnnError) -> None:
    if isinstance(want, TsrnnError):
        assert isinstance(got, TsrnnError) and got.message == want.message
        return
    assert isinstance(got, ForecastResult), got
    assert got.table.equals(want.table) and got.warnings == want.warnings and got.n_series == want.n_series


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the full loader ran."""
    calls: list[int] = []
    load_raw = forecastio.load_raw

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return load_raw(*args, **kwargs)

    monkeypatch.setattr(forecastio, "load_raw", counting)
    return calls


def demo_series(n: int | None = None, scale: float = 1.0) -> dict[str, Any]:
    demo = pl.read_csv(demo_path()).tail(n or 10_000)
    return {"timestamps": demo["time"].to_list(), "values": [v * scale for v in demo["passengers"].to_list()]}


def test_plain_requests_skip_the_full_loader(serve_models: dict[str, Path], counted: list[int]) -> None:
    series = demo_series()
    rows = [{"time": t, "passengers": v} for t, v in zip(series["timestamps"], series["values"], strict=True)]
    requests: list[dict[str, Any]] = [
        {"rows": rows},
        {"series": [series]},
        {"series": [demo_series(20)]},  # too short: the loader's message
        {"rows": rows[:-5] + rows[-4:]},  # a month missing in the window: interpolated, with the loader's warning
    ]
    for name in ("demo", "ens"):
        with Forecaster.load(serve_models[name]) as model:
            for request in requests:
                got = answer(model, request)
                assert not counted, f"{name}: the full loader ran for {str(request)[:80]}"
                assert_same(got, full(model, request))
                counted.clear()
    assert isinstance(got, ForecastResult) and got.warnings and got.warnings[0].kind == "interpolated"


@pytest.mark.parametrize(
    "change",
    [
        lambda rows: rows[3].__setitem__("passengers", None),  # an empty cell
        lambda rows: rows[3].__setitem__("passengers", "130"),  # a number as text
        lambda rows: [r.__setitem__("time", r["time"] + "T00:00:00Z") for r in rows],  # UTC times
        lambda rows: rows[3].pop("passengers"),  # a row without the value
    ],
    ids=["null", "text", "utc", "missing-key"],
)
def test_other_requests_take_the_full_loader(serve_models: dict[str, Path], counted: list[int], change: Any) -> None:
    series = demo_series()
    rows = [{"time": t, "passengers": v} for t, v in zip(series["timestamps"], series["values"], strict=True)]
    change(rows)
    with Forecaster.load(serve_models["demo"]) as model:
        got = answer(model, {"rows": rows})
        assert counted, "the express lane took a request it should leave to the loader"
        assert_same(got, full(model, {"rows": rows}))


def test_a_model_with_future_columns_takes_the_full_loader(
    serve_models: dict[str, Path], counted: list[int], tmp_path: Path, kit: Any
) -> None:
    rows = pl.read_csv(kit.write_rich(tmp_path / "rich.csv", future=True)).to_dicts()
    with Forecaster.load(serve_models["rich"]) as model:
        got = answer(model, {"rows": rows})
        assert counted
        want = full(model, {"rows": rows})
        assert isinstance(got, ForecastResult) and isinstance(want, ForecastResult)
        assert np.allclose(got.table["load_q50"].to_numpy(), want.table["load_q50"].to_numpy(), rtol=1e-5)
