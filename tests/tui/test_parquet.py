"""The Data screen opens Parquet files as it opens CSVs; the Forecast screen forecasts them and saves Parquet."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tui.app import make_app

from .conftest import SIZE, notes, settle, text_of


async def test_open_parquet_forecast_and_save(workdir: Path, config_dir: Path, exported_model: Path) -> None:
    pl.read_csv(workdir / "airline.csv", try_parse_dates=True).write_parquet(workdir / "airline.parquet")
    (workdir / "broken.parquet").write_text("time,passengers\n")
    app = make_app(config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, 0.3)
        tree = app.query_one("#data-tree")
        assert {str(n.label) for n in tree.root.children} >= {"airline.csv", "airline.parquet", "broken.parquet"}

        await pilot.press("ctrl+o", *"broken.parquet", "enter")
        await settle(pilot)
        assert "broken.parquet: not a readable Parquet file" in text_of(app, "#data-summary")
        assert any("Bad data" in n for n in notes(app))

        await pilot.press("ctrl+o", *"airline.parquet", "enter")
        await settle(pilot)
        summary = text_of(app, "#data-summary")
        assert "airline.parquet" in summary and "rows        144" in summary and "monthly" in summary
        assert app.query_one("#data-preview").row_count == 11  # 5 first, a gap marker, 5 last

        await pilot.press("f4")
        await pilot.pause()
        assert app.query_one("#fc-csv").value == "airline.parquet"
        app.query_one("#fc-model").value = str(exported_model)
        app.query_one("#fc-out").value = "fc.parquet"
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert app.query_one("#fc-table").row_count == 12
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = pl.read_parquet(workdir / "fc.parquet")
    assert saved.schema == pl.Schema({"time": pl.Datetime("us"), "passengers": pl.Float32}) and saved.height == 12
    assert saved["time"][0].isoformat() == "1961-01-01T00:00:00"
