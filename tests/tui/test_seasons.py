"""The Model screen's Seasons field: what auto will try, a wrong list marked, and a training that tries the
seasons first and says what it chose."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tui.app import make_app
from tui.screens.model import ModelView
from tui.screens.train import TrainView

from .conftest import SIZE, set_small_model, settle, text_of


def _weekly_csv(path: Path) -> Path:
    """Hourly load: a daily wave and a level for each weekday, ten weeks."""
    t = np.arange(24 * 7 * 10)
    levels = np.array([0.0, 1.0, -1.0, 2.0, 0.5, -2.5, -3.0])
    noise = 0.2 * np.random.default_rng(0).normal(size=len(t))
    values = 50 + 2 * np.sin(2 * np.pi * t / 24) + 3 * levels[(t // 24) % 7] + noise
    times = np.datetime64("2024-01-01T00:00") + t.astype("timedelta64[h]")
    path.write_text("time,load\n" + "".join(f"{s}:00,{v:.4f}\n" for s, v in zip(times, values, strict=True)))
    return path


async def test_seasons_field_auto_none_a_list_and_a_training_that_tries_them(workdir: Path, config_dir: Path) -> None:
    _weekly_csv(workdir / "load.csv")
    app = make_app("load.csv", config_dir=config_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert "auto: 24 (a day), 168 (a week), kept if they help" in text_of(app, "#msg-seasons")
        app.query_one("#seasons").value = "48,x"
        await pilot.pause()
        assert "'x' is not a season in steps" in text_of(app, "#msg-seasons")
        assert "Fix 1 field" in text_of(app, "#model-status")
        app.query_one("#seasons").value = "24,5000"
        await pilot.pause()
        assert "too long for the data" in text_of(app, "#msg-seasons")
        app.query_one("#seasons").value = "none"
        await pilot.pause()
        assert "none: the window alone" in text_of(app, "#msg-seasons")
        assert app.query_one(ModelView).try_seasons == ()
        app.query_one("#seasons").value = "auto"
        await set_small_model(pilot, epochs=1)
        assert app.query_one(ModelView).try_seasons == (24, 168)
        await pilot.press("ctrl+t")
        await settle(pilot)
        train = app.query_one(TrainView)
        assert "Finished after 1 epoch" in text_of(app, "#train-status")
        chosen = train.experiment.model_cfg.seasons
        verdict = "used" if chosen else "not used"
        assert train.season_words.startswith(f"seasons 24 (a day), 168 (a week): {verdict}, the validation block")
