"""tsrnn tune: tables and a runnable command line, seeded repeats, pruning, budgets and the search space."""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import replace
from pathlib import Path

import optuna
import polars as pl
import pytest

from tsrnn.cli.commands import main
from tsrnn.core.config import TrainConfig
from tsrnn.core.errors import ConfigError
from tsrnn.data.loader import load_series
from tsrnn.evaluate.backtest import make_folds
from tsrnn.experiment.pipeline import model_config
from tsrnn.model.train import EpochInfo
from tsrnn.runtime.inference import Forecaster
from tsrnn.tune.request import TuneRequest
from tsrnn.tune.run import epoch_reporter, make_pruner, run_tune, tune_variants, window_choices

TINY = TrainConfig(epochs=2, patience=5, threads=1, seed=3)


def test_tune_writes_its_tables_and_a_command_line_that_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "tuned"
    code = main(
        [
            "tune",
            "demo",
            "--trials",
            "3",
            "--epochs",
            "2",
            "--folds",
            "2",
            "--variants",
            "gru,lstm",
            "--seed",
            "1",
            "--threads",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    table = pl.read_csv(out / "trials.csv")
    assert table["trial"].to_list() == [1, 2, 3]
    assert set(table["state"]) <= {"complete", "pruned"} and "complete" in set(table["state"])
    assert set(table["variant"]) <= {"gru", "lstm", "bigru", "bilstm"}
    for col in ("layers", "hidden", "input_len", "lr", "dropout", "weight_decay", "loss", "mase", "smape", "seconds"):
        assert col in table.columns
    assert all(L % 12 == 0 for L in table["input_len"])  # multiples of the horizon and the season
    saved = json.loads((out / "trials.json").read_text())
    assert len(saved["trials"]) == 3 and saved["protocol"]["folds"] == 2
    best = saved["best"]
    assert best["mase"] == min(t["mase"] for t in saved["trials"] if t["state"] == "complete")
    md = (out / "trials.md").read_text()
    assert md.count("\n| ") == 4 and f"{best['trial']} *" in md  # header and 3 trials; the best marked
    command = (out / "best_command.txt").read_text().strip()
    assert command == saved["command"] and command in printed
    assert Forecaster.load(out / "best.onnx").meta.backtest["trial"] == best["trial"]

    # the command line trains the best configuration (on all the data)
    argv = shlex.split(command)
    assert argv[:3] == ["tsrnn", "train", "demo"]
    for flag, key in (("--hidden", "hidden"), ("--layers", "layers"), ("--input-len", "input_len"), ("--loss", "loss")):
        assert argv[argv.index(flag) + 1] == str(best[key])
    assert float(argv[argv.index("--lr") + 1]) == best["lr"]
    assert float(argv[argv.index("--weight-decay") + 1]) == best["weight_decay"]
    assert main([*argv[1:], "--out", "retrained.onnx", "--threads", "1"]) == 0
    meta = Forecaster.load(tmp_path / "retrained.onnx").meta
    assert (meta.cell, meta.hidden_size, meta.num_layers, meta.input_len, meta.loss) == (
        best["variant"].removeprefix("bi"),
        best["hidden"],
        best["layers"],
        best["input_len"],
        best["loss"],
    )
    assert meta.bidirectional == best["variant"].startswith("bi")


def test_seeded_tune_repeats_the_same_trials(tmp_path: Path) -> None:
    data = load_series("demo")
    base = model_config(data, num_layers=1)
    runs = [
        run_tune(TuneRequest(data, base, TINY, trials=3, folds=2, variants="rnn,gru", out_dir=tmp_path / str(i)))
        for i in range(2)
    ]
    first, second = ([(t.params, t.state, t.epochs) for t in r.trials] for r in runs)
    assert first == second
    for a, b in zip(runs[0].trials, runs[1].trials, strict=True):
        assert a.mase == pytest.approx(b.mase, rel=1e-6) or (math.isnan(a.mase) and math.isnan(b.mase))
    other = run_tune(
        TuneRequest(
            data, base, replace(TINY, seed=4), trials=3, folds=2, variants="rnn,gru", out_dir=tmp_path / "other"
        )
    )
    assert [t.params for t in other.trials] != [t.params for t in runs[0].trials]


def _study_with(losses: list[str], values: list[float]) -> optuna.Study:
    """A study holding finished trials (one per loss) that reported `values` at epochs 1, 2, ..."""
    study = optuna.create_study(direction="minimize", pruner=make_pruner(warmup=3, min_trials=2))
    dist = {"loss": optuna.distributions.CategoricalDistribution(["mse", "mae", "huber"])}
    for loss in losses:
        study.add_trial(
            optuna.trial.create_trial(
                params={"loss": loss},
                distributions=dist,
                value=values[-1],
                intermediate_values={i + 1: v for i, v in enumerate(values)},
            )
        )
    return study


def _info(epoch: int, val: float) -> EpochInfo:
    return EpochInfo(epoch, 100, val, val, val, 1e-3, float(epoch), 100.0)


def test_the_pruner_stops_a_bad_trial_from_its_validation_loss() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = _study_with(["mse", "mse", "mse"], [0.5, 0.3, 0.2, 0.15, 0.1])
    study.enqueue_trial({"loss": "mse"})
    bad = study.ask()
    bad.suggest_categorical("loss", ["mse", "mae", "huber"])
    report = epoch_reporter(bad)
    report(_info(1, 5.0))
    report(_info(2, 5.0))  # not before the warm-up epochs
    with pytest.raises(optuna.TrialPruned, match="epoch 3"):
        report(_info(3, 5.0))

    study.enqueue_trial({"loss": "mse"})
    good = study.ask()
    good.suggest_categorical("loss", ["mse", "mae", "huber"])
    report = epoch_reporter(good)
    for epoch in range(1, 6):
        report(_info(epoch, 0.05))  # better than the median: goes on

    study.enqueue_trial({"loss": "mae"})
    other = study.ask()  # an MAE trial is not compared with MSE trials (other units)
    other.suggest_categorical("loss", ["mse", "mae", "huber"])
    report = epoch_reporter(other)
    for epoch in range(1, 6):
        report(_info(epoch, 5.0))


def test_a_budget_smaller_than_one_trial_runs_one_short_trial(tmp_path: Path) -> None:
    data = load_series("demo")
    result = run_tune(
        TuneRequest(
            data,
            model_config(data, num_layers=1),
            TrainConfig(epochs=500, patience=500, threads=1),
            budget=0.5,
            folds=2,
            variants="gru",
            out_dir=tmp_path,
        )
    )
    assert result.stopped == "budget" and len(result.trials) == 1
    assert result.trials[0].epochs < 500 and "budget" in result.trials[0].note
    assert result.protocol.budget_s == 0.5 and (tmp_path / "trials.csv").is_file()


def test_search_space_choices() -> None:
    data = load_series("demo")
    assert window_choices(data, 12, 12, 2) == [12, 24, 36, 48]
    assert window_choices(data.drop_last(60), 12, 12, 2) == [12, 24]  # a shorter series serves fewer windows
    for L in window_choices(data, 12, 12, 2):
        make_folds(data, L, 12, 2)
    assert tune_variants("gru, bilstm-3, gru-2") == ["gru", "bilstm"]
    assert tune_variants(None) == ["rnn", "gru", "lstm", "birnn", "bigru", "bilstm"]
    with pytest.raises(ConfigError, match="unknown variant 'cnn'"):
        tune_variants("gru,cnn")
    with pytest.raises(ConfigError, match="at least 2 models"):
        run_tune(TuneRequest(data, model_config(data), TINY, trials=3, ensemble=1))
