"""tsrnn.evaluate.protocol: the record of how a comparison or a search scored its models, written with the keys and
the key order of the files written before it existed (leaderboard.json, trials.json, model metadata)."""

from __future__ import annotations

import json
from dataclasses import replace

from tsrnn.evaluate.protocol import Protocol

SHARED = {
    "data": "load.csv",
    "series": 3,
    "frequency": "hourly",
    "season": 24,
    "horizon": 12,
    "folds": 3,
    "scaling": "window",
    "quantiles": (0.1, 0.9),
    "training": "once",
    "epochs": 5,
    "patience": 3,
    "batch_size": 32,
    "seed": 0,
    "budget_s": 300.0,
    "calendar": "calendar features: none",
}


def test_a_comparison_writes_its_keys_in_the_order_of_its_files() -> None:
    p = Protocol(run="compare", **SHARED, input_len=48, refit=False, hidden_size=64, lr=0.001, skipped=("gru",))
    assert list(p.as_dict()) == [
        "data", "series", "frequency", "season", "input_len", "horizon", "folds", "refit", "hidden_size", "scaling",
        "quantiles", "epochs", "patience", "batch_size", "lr", "seed", "budget_s", "windows_per_epoch", "estimate",
        "skipped", "training", "calendar", "unscored_fold_windows", "seasons", "baseline_seasons",
    ]  # fmt: skip
    later = replace(
        p, references={"mstl": {}}, best_retrained=False, interrupted="interrupted after 1 of 2 variants", elapsed_s=1.5
    )
    assert list(later.as_dict())[-4:] == ["references", "best_retrained", "interrupted", "elapsed_s"]
    built = replace(p, ensemble=2, ensemble_method="median", ensemble_members=("gru", "lstm")).as_dict()
    assert built["ensemble"] == {"k": 2, "method": "median", "members": ["gru", "lstm"]}
    assert json.loads(json.dumps(p.as_dict()))["quantiles"] == [0.1, 0.9] and p.as_dict()["skipped"] == ["gru"]


def test_a_search_writes_its_keys_in_the_order_of_its_files() -> None:
    p = Protocol(run="tune", **SHARED, search={"variants": ["gru"]}, sampler="TPE", pruner="median", trials=10)
    assert list(p.as_dict()) == [
        "data", "series", "frequency", "season", "horizon", "folds", "scaling", "quantiles", "training", "search",
        "sampler", "pruner", "trials", "budget_s", "epochs", "patience", "batch_size", "seed", "ensemble",
        "ensemble_method", "calendar",
    ]  # fmt: skip
    assert list(replace(p, interrupted="interrupted after 3 of 10 trials").as_dict())[-1] == "interrupted"
