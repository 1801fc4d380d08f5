"""Statistical references (statsforecast) in compare's leaderboard: the same folds, never the winner, never
exported; a clear message where statsforecast is not installed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tsrnn.cli.commands import main
from tsrnn.compare import references
from tsrnn.compare.request import CompareRequest
from tsrnn.compare.run import format_markdown, format_text, parse_variants, run_compare
from tsrnn.core.config import TrainConfig
from tsrnn.core.errors import ConfigError
from tsrnn.core.extras import MissingExtraError
from tsrnn.data.loader import load_series
from tsrnn.evaluate.backtest import fold_scores, make_folds, summarise
from tsrnn.experiment.pipeline import model_config

DATA = Path(__file__).parents[2] / "data"


def test_parse_references() -> None:
    assert references.parse_references("ets, MSTL") == ("mstl", "ets")
    assert references.parse_references("mstl,mstl") == ("mstl",)
    assert references.parse_references("none") == () and references.parse_references("") == ()
    with pytest.raises(ConfigError, match="unknown --reference 'prophet': choose from mstl, ets"):
        references.parse_references("mstl,prophet")


def test_references_fit_the_seasons_with_two_cycles_before_the_origin() -> None:
    plan = references.plan_references(("mstl", "ets"), (48, 336), 48, 700)
    assert plan["mstl"] == references.Reference("mstl", (48, 336)) and plan["ets"].seasons == (48,)
    assert plan["mstl"].label == "MSTL (seasons 48, 336)" and plan["ets"].label == "AutoETS (season 48)"
    short = references.plan_references(("mstl", "ets"), (48, 336), 48, 600)  # under two weeks: the day only
    assert short["mstl"].seasons == (48,)
    none = references.plan_references(("mstl", "ets"), (), 12, 20)
    assert isinstance(none["mstl"], str) and "no season with two full cycles in the 20 rows" in none["mstl"]
    assert none["ets"].label == "AutoETS (no season)"


def _hide_statsforecast(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name.split(".")[0] == "statsforecast" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_without_statsforecast_the_option_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _hide_statsforecast(monkeypatch)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingExtraError, match=r"pip install 'tsrnn\[stats\]'"):
        references.check_available(("mstl",))
    references.check_available(())  # no reference asked: nothing needed
    rc = main(["compare", "demo", "--reference", "mstl,ets", "--variants", "gru", "--epochs", "1"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert "--reference mstl,ets needs the optional package 'statsforecast'" in err
    assert "pip install 'tsrnn[stats]'" in err and "Traceback" not in err
    assert not (tmp_path / "exports").exists()  # refused before any work: nothing written


def test_an_unknown_reference_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["compare", "demo", "--reference", "arima"])
    assert exc.value.code == 2
    assert "argument --reference: 'arima': choose from mstl, ets" in capsys.readouterr().err


def test_reference_rows_are_scored_on_the_compare_folds() -> None:
    pytest.importorskip("statsforecast")
    from statsforecast.models import MSTL

    data = load_series("demo")
    folds = make_folds(data, 24, 12, 3)
    rows, record = references.reference_rows(("mstl", "ets"), folds, (12,), 12)
    assert [r.name for r in rows] == ["mstl", "ets"] and {r.kind for r in rows} == {"reference"}
    assert record["mstl"]["seasons"] == [12] and record["ets"]["label"] == "AutoETS (season 12)"
    # the same origins: MSTL fitted by hand on every fold's history, scored with the compare's MASE scale
    by_hand = np.stack(
        [
            MSTL(season_length=[12]).fit(y[:, 0].astype(np.float64)).predict(h=12)["mean"][:, None]
            for y in folds.insample
        ]
    )
    assert [len(y) for y in folds.insample] == [108, 120, 132]
    want = summarise(fold_scores(folds, by_hand, 12))
    assert rows[0].metrics["mase"] == pytest.approx(want["mase"]) and np.isfinite(rows[1].metrics["mase"])


def test_many_series_are_fitted_one_by_one() -> None:
    pytest.importorskip("statsforecast")
    data = load_series(DATA / "long_format.csv")
    folds = make_folds(data, 12, 6, 2)
    ref = references.Reference("ets", ())
    both = references.reference_forecast(ref, folds.insample, 6)
    alone = [references.reference_forecast(ref, [y], 6)[0] for y in folds.insample]
    assert both.shape == (2 * data.n_series, 6, 1)
    np.testing.assert_allclose(both, np.stack(alone))
    assert not np.allclose(both[0], both[1])  # each series its own fit


def test_a_reference_is_shown_but_never_wins_nor_is_exported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("statsforecast")
    monkeypatch.chdir(tmp_path)
    data = load_series("demo")
    base = model_config(data, hidden_size=4, num_layers=1)
    board = run_compare(
        CompareRequest(
            data, tuple(parse_variants("gru")), base, TrainConfig(epochs=1, threads=1), folds=3, references=("mstl",)
        )
    )
    ref = next(r for r in board.rows if r.kind == "reference")
    assert ref.name == "mstl" and ref.model_path is None and ref.label == "MSTL (season 12)"
    # on the airline data MSTL beats seasonal naive, which beats a network trained one epoch
    assert board.rows[0].name == "mstl" and ref.metrics["mase"] < board.rows[1].metrics["mase"]
    assert board.winner == "seasonal_naive" and board.exported == "seasonal_naive"
    assert "For reference, MSTL (season 12) scores MASE" in board.verdict
    assert not list((tmp_path / "exports").rglob("mstl*.onnx"))
    assert "mstl (ref)" in format_text(board) and "(ref) a statistical reference" in format_markdown(board)
    assert board.protocol.references["mstl"]["seasons"] == [12]
    saved = json.loads(Path(board.files["json"]).read_text())
    assert (
        saved["winner"] == "seasonal_naive"
        and {"mstl": "reference"}.items() <= {r["name"]: r["kind"] for r in saved["rows"]}.items()
    )
    csv = pl.read_csv(board.files["csv"])
    assert csv.filter(pl.col("variant") == "mstl")["kind"].to_list() == ["reference"]
