"""`tsrnn forecast --follow` with a model that reads a future column: rows with the target empty plan the
horizon, and each step's forecast (issued once its horizon is planned) is what `tsrnn forecast` gives on the
rows so far."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from tsrnn.runtime.follow import Follower, Line
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster


def expected(model: Path, rows: list[dict[str, Any]], tmp: Path) -> dict[str, list[float]]:
    """`tsrnn forecast`'s median per series for a file of these rows."""
    path = tmp / "so_far.csv"
    pl.DataFrame(rows, schema={"id": pl.String, "time": pl.String, "load": pl.Float64, "promo": pl.Int64}).write_csv(
        path
    )
    with Forecaster.load(model) as m:
        table = forecast_file(m, path).table
    return {sid: part["load_q50"].to_list() for (sid,), part in table.group_by("id", maintain_order=True)}


def test_a_stream_with_plans_forecasts_each_series_as_a_file_would(
    serve_models: dict[str, Path], tmp_path: Path, kit: Any
) -> None:
    data = kit.write_rich(tmp_path / "rich.csv", future=True)  # each series: its rows, then its horizon's plans
    run = subprocess.run(
        [sys.executable, "-m", "tsrnn", "forecast", str(serve_models["rich"]), "--follow", "-"],
        input=data.read_text(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(x) for x in run.stdout.splitlines()]
    assert len(lines) == kit.rich_series
    want = expected(serve_models["rich"], pl.read_csv(data, schema_overrides={"id": pl.String}).to_dicts(), tmp_path)
    for line in lines:
        got = [step["load_q50"] for step in line["forecast"]]
        assert got == pytest.approx(want[line["id"]], rel=1e-5, abs=1e-5)
    assert "0 skipped" in run.stderr and f"{kit.rich_series} forecast(s)" in run.stderr


def test_a_step_waits_for_its_plans_and_a_gap_keeps_the_plan(
    serve_models: dict[str, Path], tmp_path: Path, kit: Any
) -> None:
    table = pl.read_csv(kit.write_rich(tmp_path / "rich.csv", future=True), schema_overrides={"id": pl.String})
    rows = table.filter(pl.col("id") == "s00").to_dicts()  # 96 observed rows, then 6 plans
    observed, plans = rows[: -kit.rich_h], rows[-kit.rich_h :]
    said: list[str] = []
    with Forecaster.load(serve_models["rich"]) as model:
        f = Follower(model, said.append)

        def feed(batch: list[dict[str, Any]]) -> list[tuple[str, Any, Any, float]]:
            cells = [{k: "" if v is None else str(v) for k, v in r.items()} for r in batch]
            lines = [(Line(0.0, i, ""), row) for i, row in enumerate(cells)]
            return f.forecast(f.add(f.records(lines)))

        assert feed(observed) == [] and "waits for 'promo' over its 6 steps ahead" in said[0]
        assert feed(plans[:-1]) == []
        ((sid, _, cols, _),) = feed(plans[-1:])
        assert sid == "s00"
        assert cols["load_q50"].tolist() == pytest.approx(expected(model.path, rows, tmp_path)["s00"], rel=1e-5)
        # the next hour observed (its promo from its plan), one hour skipped, and plans to the end of the horizon
        t = np.datetime64(plans[-1]["time"])
        more = [{**plans[0], "load": 20.0, "promo": None}]
        ahead = [str(t + np.timedelta64(h, "h")) for h in range(1, 4)]
        more += [{"id": "s00", "time": when, "load": None, "promo": h % 2} for h, when in enumerate(ahead)]
        more += [{**plans[2], "load": 21.0, "promo": None}]  # plans[1] is never observed: interpolated
        got = feed(more)
        assert [g[0] for g in got] == ["s00"]
        so_far = [*observed, {**plans[0], "load": 20.0}, plans[1], {**plans[2], "load": 21.0}, *plans[3:], *more[1:4]]
        assert got[0][2]["load_q50"].tolist() == pytest.approx(expected(model.path, so_far, tmp_path)["s00"], rel=1e-5)
