"""Ensembles in one file: the mean (or median) of K trained forecasters, exported as ONE .onnx graph.

`EnsembleForecaster` holds the K `RecurrentForecaster` members side by side. It reads a window of the longest
member's length; each member reads the last L_k steps of it (and the known inputs over the same steps plus the
horizon, when it uses them), scales them itself (scaling stays inside every member), and the members' outputs
are combined element-wise: mean, or median. The module goes through the same exporter as a single model
(`tsrnn.export.exporter.export_onnx`: dynamic batch, the parity check against PyTorch at batch 1 and 64), so a forecast
stays one ONNX Runtime call and `tsrnn forecast`, `Forecaster` and the TUI read the file as any other.

Scoring: an ensemble's backtest forecast is the combination of its members' fold forecasts (the same folds the
members were scored on), so its leaderboard row compares like for like.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from tsrnn.compare.leaderboard import Row, claim_model, rank_key
from tsrnn.compare.variants import measure_latency
from tsrnn.core.errors import ConfigError
from tsrnn.evaluate.backtest import fold_interval_scores, fold_scores, summarise
from tsrnn.model.networks import RecurrentForecaster
from tsrnn.runtime.inference import Forecaster

if TYPE_CHECKING:
    from tsrnn.core.config import ModelConfig
    from tsrnn.evaluate.backtest import Folds
    from tsrnn.experiment.pipeline import Experiment
    from tsrnn.export.exporter import ExportResult
    from tsrnn.modelfile.artifact import ModelMeta

METHODS = ("mean", "median")


def check_ensemble(k: int, method: str = "mean", available: int | None = None) -> None:
    """Raise ConfigError for an ensemble size or method that cannot work (0 means no ensemble)."""
    if method not in METHODS:
        raise ConfigError(f"unknown --ensemble-method '{method}': choose one of {', '.join(METHODS)}")
    if k == 0:
        return
    if k < 2:
        raise ConfigError(f"--ensemble {k}: an ensemble combines at least 2 models (0 turns it off)")
    if available is not None and k > available:
        raise ConfigError(
            f"--ensemble {k} needs at least {k} models to choose from, but only {available} are "
            "trained; lower --ensemble or add variants (or trials)"
        )


def combine(arrays: list[np.ndarray], method: str = "mean") -> np.ndarray:
    """Element-wise mean or median of equally shaped forecasts (the median of an even count averages the two
    middle values, as the exported graph does)."""
    stacked = np.stack([np.asarray(a, dtype=np.float64) for a in arrays])
    out = stacked.mean(axis=0) if method == "mean" else np.median(stacked, axis=0)
    return out.astype(np.float32)


class EnsembleForecaster(nn.Module):
    """history (B, L, C) raw [and known (B, L + H, K)] -> the combined outputs of K members, L = the longest
    member's window. Same inputs and outputs as one RecurrentForecaster, so the exporter treats it as one."""

    def __init__(self, members: list[RecurrentForecaster], method: str = "mean") -> None:
        super().__init__()
        check_ensemble(len(members), method)
        first = members[0].config
        for m in members[1:]:
            c = m.config
            if (c.horizon, c.n_inputs, c.n_targets, c.quantiles, c.task) != (
                first.horizon,
                first.n_inputs,
                first.n_targets,
                first.quantiles,
                first.task,
            ):
                raise ConfigError(
                    "the members of an ensemble must forecast the same horizon, targets and quantiles "
                    "from the same inputs"
                )
        if first.task != "forecast":
            raise ConfigError("only forecasting models can be combined into an ensemble")
        known = {m.config.n_known for m in members} - {0}
        if len(known) > 1:
            raise ConfigError("the members of an ensemble read different known inputs; build them on the same data")
        self.members = nn.ModuleList(members)
        self.member_configs: list[ModelConfig] = [m.config for m in members]
        self.method = method
        longest = max(members, key=lambda m: (m.config.history_len, m.config.input_len))
        self.config = replace(longest.config, n_known=max(known, default=0))
        """What the exporter reads: the longest member's window, the shared horizon, inputs and outputs."""
        # Here, not at the top: loads onnx, which importing this module does not.
        from tsrnn.export.exporter import WIDE_FROM

        self.wide_from = max(WIDE_FROM.get(m.config.cell, 1) for m in members)
        """Batch size from which the file runs the members' unrolled graphs: the largest of the members' own
        crossovers, so no member ever runs a graph slower than its native one."""

    def forward(
        self, history: torch.Tensor, known: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        L = self.config.history_len
        parts: list[list[torch.Tensor]] = []
        for member, c in zip(self.members, self.member_configs, strict=True):
            start = L - c.history_len  # a Python int: a fixed Slice in the graph
            args = [history[:, start:]]
            if c.n_known and known is not None:
                args.append(known[:, start:])
            out = member(*args)
            parts.append(list(out) if isinstance(out, tuple) else [out])
        combined = [self._combine(torch.stack([p[i] for p in parts])) for i in range(len(parts[0]))]
        return combined[0] if len(combined) == 1 else (combined[0], combined[1])

    def _combine(self, stacked: torch.Tensor) -> torch.Tensor:
        if self.method == "mean":
            return stacked.mean(dim=0)
        k = stacked.shape[0]
        ordered = torch.sort(stacked, dim=0).values
        if k % 2:
            return ordered[k // 2]
        return (ordered[k // 2 - 1] + ordered[k // 2]) / 2


@dataclass
class Member:
    """One model of an ensemble: how it was trained, and its backtest."""

    name: str
    experiment: Experiment
    outputs: dict[str, np.ndarray]
    """Its fold forecasts by output name (folds * series, horizon, targets[, quantiles]), fold-major."""
    metrics: dict[str, float]
    train_seconds: float = 0.0
    epochs: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    """What else describes it (a tuning trial's number and parameters)."""

    @property
    def model(self) -> RecurrentForecaster:
        return self.experiment.result.model


def describe(member: Member) -> dict[str, Any]:
    """The member's entry in the ensemble file's metadata."""
    c, t = member.experiment.model_cfg, member.experiment.train_cfg
    out: dict[str, Any] = {
        "name": member.name,
        "cell": c.cell,
        "bidirectional": c.bidirectional,
        "num_layers": c.num_layers,
        "hidden_size": c.hidden_size,
        "dropout": c.dropout,
        "input_len": c.input_len,
        "loss": t.loss,
        "lr": t.lr,
        "weight_decay": t.weight_decay,
        "epochs_run": member.experiment.result.epochs_run,
        "backtest_mase": member.metrics.get("mase"),
    }
    if c.highway:
        out["highway"] = True
    if c.seasonal_skip:
        out["seasonal_skip"] = c.seasonal_skip
    out.update(member.settings)
    return out


def build(members: list[Member], method: str = "mean") -> EnsembleForecaster:
    return EnsembleForecaster([m.model for m in members], method)


def label(members: list[Member], method: str = "mean") -> str:
    return f"{method} of {', '.join(m.name for m in members)}"


def metadata(members: list[Member], method: str, backtest: dict[str, Any] | None = None) -> ModelMeta:
    """The longest member's metadata (its data, window and known inputs), marked as an ensemble and listing
    every member; `cell` and the sizes are the first member's, so an older tsrnn still forecasts with it."""
    longest = max(members, key=lambda m: m.experiment.model_cfg.input_len).experiment
    first = members[0].experiment
    meta = longest.metadata()
    fc = first.model_cfg
    changes: dict[str, Any] = {
        "cell": fc.cell,
        "bidirectional": fc.bidirectional,
        "num_layers": fc.num_layers,
        "hidden_size": fc.hidden_size,
        "dropout": fc.dropout,
        "loss": first.train_cfg.loss,
        "epochs_run": sum(m.experiment.result.epochs_run for m in members),
        "best_epoch": 0,
        "stopped": "ensemble",
        "test_metrics": {},
        "backtest": backtest,
        "model": "ensemble",
        "ensemble": {"method": method, "members": [describe(m) for m in members]},
    }
    return meta.with_changes(**changes)


def export(
    members: list[Member], method: str, path: str | os.PathLike[str], backtest: dict[str, Any] | None = None
) -> ExportResult:
    """Write the ensemble of `members` to one .onnx file, parity-checked like every export."""
    # Here, not at the top: loads onnx, which importing this module does not.
    from tsrnn.export.exporter import export_onnx

    module = build(members, method)
    longest = max(members, key=lambda m: m.experiment.model_cfg.input_len).experiment
    windows = np.concatenate([longest.split.test[:256], longest.split.val[:256]])
    # export_onnx reads .config, calls the module and walks its parameters: an ensemble answers all three
    return export_onnx(cast(RecurrentForecaster, module), path, metadata(members, method, backtest), windows)


def fold_outputs(members: list[Member], method: str) -> dict[str, np.ndarray]:
    """The ensemble's backtest: its members' fold forecasts combined, output by output."""
    return {name: combine([m.outputs[name] for m in members], method) for name in members[0].outputs}


def score(members: list[Member], method: str, folds: Folds, season: int) -> dict[str, float]:
    """Mean and spread over the folds of the combined fold forecasts (and interval scores for quantiles)."""

    outputs = fold_outputs(members, method)
    metrics = summarise(fold_scores(folds, outputs["forecast"], season))
    quantiles = members[0].experiment.model_cfg.quantiles
    if "quantiles" in outputs and quantiles:
        metrics.update(
            summarise(fold_interval_scores(folds, outputs["quantiles"], list(quantiles), season), ("coverage", "msis"))
        )
    return metrics


def top(members: list[Member], k: int) -> list[Member]:
    """The k members with the lowest backtest MASE (NaN last), best first."""
    return sorted(members, key=lambda m: np.nan_to_num(m.metrics.get("mase", np.nan), nan=np.inf))[:k]


def add_ensemble_row(board: Any, k: int, method: str, folds: Folds, season: int, out_dir: Path) -> None:
    """Compare's ensemble row: the best k variants (by backtest MASE) combined, scored on the same folds, written
    beside the variants' files (models/ensemble-K.onnx) and ranked with the other rows. The exported best stays a
    single network or a baseline (`tsrnn.compare.honest`); the verdict says how the ensemble did."""
    ranked = sorted(
        (r for r in board.rows if r.kind == "model" and r.trained is not None), key=lambda r: rank_key(r.metrics)
    )
    name = f"ensemble-{k}"
    if len(ranked) < k:
        board.verdict = (board.verdict + f" No {name}: only {len(ranked)} variant(s) were ranked.").strip()
        return
    chosen = ranked[:k]
    members = [Member(r.name, r.trained[0], r.trained[1], r.metrics, r.train_seconds, r.epochs) for r in chosen]
    metrics = score(members, method, folds, season)
    members_named = tuple(r.name for r in chosen)
    board.protocol = replace(board.protocol, ensemble=k, ensemble_method=method, ensemble_members=members_named)
    path = export(
        members,
        method,
        claim_model(out_dir / "models" / f"{name}.onnx"),
        {"protocol": board.protocol.as_dict(), "metrics": metrics},
    ).path
    model = Forecaster.load(path)
    t0 = time.perf_counter()
    model.predict_outputs(folds.history, folds.known)
    backtest_ms = (time.perf_counter() - t0) * 1000
    row = Row(
        name,
        "ensemble",
        metrics,
        params=sum(r.params for r in chosen),
        train_seconds=sum(r.train_seconds for r in chosen),
        latency_ms=measure_latency(model, folds.history[:1], None if folds.known is None else folds.known[:1]),
        backtest_ms=backtest_ms,
        epochs=sum(r.epochs for r in chosen),
        model_path=str(path),
        label=label(members, method),
    )
    board.rows.append(row)
    board.rows.sort(key=lambda r: (*rank_key(r.metrics), r.kind))
    best = chosen[0]
    than = "better than" if rank_key(row.metrics) < rank_key(best.metrics) else "no better than"
    board.verdict = (
        f"{board.verdict} The {name} ({row.label}) scores MASE {metrics['mase']:.3f}, {than} "
        f"{best.name} ({best.metrics['mase']:.3f}); its one file: {path}."
    ).strip()
