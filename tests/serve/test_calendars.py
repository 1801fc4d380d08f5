"""A model with a session calendar (business hours), holiday flags and a time zone, served and followed: the
answers are `tsrnn forecast`'s on the same rows, whichever way the request is read."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from tsrnn.cli.commands import main
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster


def write_shop(path: Path) -> Path:
    """Two shops open Monday to Friday, 09:00 to 16:00 (eight hourly rows a day), June to mid-July 2024 (the 4th
    of July a US holiday), in New York local time."""
    rng = np.random.default_rng(1)
    lines = ["id,time,sales"]
    for shop in ("a", "b"):
        for day in np.arange(np.datetime64("2024-06-03"), np.datetime64("2024-07-13")):
            if (day.astype(np.int64) + 3) % 7 >= 5:
                continue
            for h in range(9, 17):
                level = 5 if str(day) == "2024-07-04" else 20 + 10 * np.sin(np.pi * (h - 9) / 8)
                lines.append(f"{shop},{day}T{h:02d}:00:00,{level * (1.5 if shop == 'b' else 1) + rng.normal():.2f}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> Iterator[tuple[Path, Path, Any]]:
    folder = tmp_path_factory.mktemp("shop")
    data = write_shop(folder / "shop.csv")
    model = folder / "shop.onnx"
    code = main(
        [
            "train", str(data), "--id-col", "id", "--holidays", "US", "--tz", "America/New_York", "--cell", "gru",
            "--hidden", "4", "--layers", "1", "--epochs", "1", "--input-len", "16", "--horizon", "8",
            "--seasons", "none", "--threads", "1", "--out", str(model), "--json",
        ]
    )  # fmt: skip
    assert code == 0
    server = kit.start_server([model], folder / "serve.log")
    yield data, model, server
    assert server.stop() == 0


def test_the_model_keeps_the_sessions_and_holidays(shop: tuple[Path, Path, Any]) -> None:
    _, model, _ = shop
    with Forecaster.load(model) as m:
        assert m.freq.sessions is not None and m.known_spec.holidays is not None and m.meta.tz == "America/New_York"


def test_served_forecasts_are_tsrnn_forecasts(shop: tuple[Path, Path, Any]) -> None:
    data, model, server = shop
    with Forecaster.load(model) as m:
        want = forecast_file(m, data).table.to_dicts()
    assert want[0]["time"] == "2024-07-15T09:00:00"  # the next opening: Monday morning
    frame = pl.read_csv(data, schema_overrides={"id": pl.String})
    as_numbers = frame.to_dicts()
    as_text = [{**r, "sales": str(r["sales"])} for r in as_numbers]  # the full loader's path
    series = [
        {"id": sid, "timestamps": part["time"].to_list(), "values": part["sales"].to_list()}
        for (sid,), part in frame.group_by("id", maintain_order=True)
    ]
    with server.client() as c:
        for body in ({"rows": as_numbers}, {"rows": as_text}, {"series": series}):
            r = c.post("/v1/models/shop/forecast", json=body)
            assert r.status_code == 200, r.text
            got = r.json()["forecast"]
            assert [g["time"] for g in got] == [w["time"] for w in want]
            assert [g["sales"] for g in got] == pytest.approx([w["sales"] for w in want], rel=1e-5)
        r = c.post("/v1/models/shop/forecast", content=data.read_bytes(), headers={"content-type": "text/csv"})
        assert [g["sales"] for g in r.json()["forecast"]] == pytest.approx([w["sales"] for w in want], rel=1e-5)


def test_a_followed_stream_skips_the_closed_hours(shop: tuple[Path, Path, Any]) -> None:
    data, model, _ = shop
    run = subprocess.run(
        [sys.executable, "-m", "tsrnn", "forecast", str(model), "--follow", "-"],
        input=data.read_text(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "0 skipped" in run.stderr and "missing" not in run.stderr
    last = {}
    for line in run.stdout.splitlines():
        out = json.loads(line)
        last[out["id"]] = out
    with Forecaster.load(model) as m:
        want = forecast_file(m, data).table
    for sid, out in last.items():
        rows = want.filter(pl.col("id") == sid)
        assert out["issued"] == "2024-07-12T16:00:00"
        assert [s["time"] for s in out["forecast"]] == rows["time"].to_list()
        assert [s["sales"] for s in out["forecast"]] == pytest.approx(rows["sales"].to_list(), rel=1e-5)
