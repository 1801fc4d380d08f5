"""Tuning's records and tables: each trial, the progress sent while the search runs, the result, and the trials
table written as CSV, JSON and Markdown (and printed as text)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from tsrnn.core.budget import format_seconds
from tsrnn.core.safeio import atomic_write
from tsrnn.evaluate.protocol import Protocol

if TYPE_CHECKING:
    from tsrnn.model.train import EpochInfo


@dataclass
class Trial:
    """One tuning trial: what it tried and how it scored."""

    number: int
    params: dict[str, Any]
    state: str = "running"
    """complete, pruned, failed, or interrupted (a stop request or Ctrl+C cut its training: not scored)."""
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    epochs: int = 0
    note: str = ""
    """Why it ended as it did, when that is not the obvious (cut by the budget, cancelled, the error)."""

    @property
    def mase(self) -> float:
        return float(self.metrics.get("mase", math.nan))

    def describe(self) -> str:
        """'bigru 2x64, window 24, lr 0.0012, dropout 0.1, wd 1e-05, huber'."""
        p = self.params
        parts = [f"{p['variant']} {p['layers']}x{p['hidden']}", f"window {p['input_len']}", f"lr {p['lr']:g}"]
        if p["dropout"]:
            parts.append(f"dropout {p['dropout']:g}")
        if p["weight_decay"]:
            parts.append(f"wd {p['weight_decay']:g}")
        parts.append(p["loss"])
        if p.get("seasonal_skip"):
            parts.append(f"seasonal skip {p['seasonal_skip']}")
        return ", ".join(parts)

    def to_row(self) -> dict[str, Any]:
        m = self.metrics
        return {
            "trial": self.number,
            "state": self.state,
            **self.params,
            **{k: m.get(k) for k in ("mase", "mase_std", "smape", "mae", "rmse")},
            "epochs": self.epochs,
            "seconds": round(self.seconds, 2),
            "note": self.note,
        }


@dataclass
class TuneProgress:
    """Sent when a trial starts (trial.state 'running'), after each of its epochs (epoch set) and when it ends."""

    trial: Trial
    done: int
    """Trials ended so far."""
    total: int | None
    """Trials asked for (None: as many as the budget allows)."""
    elapsed: float
    remaining: float
    """Seconds left in the budget (infinity without one)."""
    epoch: EpochInfo | None = None
    estimate: str | None = None
    """After the first trial: how many trials the budget holds, or how long the rest will take."""

    @property
    def ended(self) -> bool:
        return self.trial.state != "running" and self.epoch is None


ProgressFn = Callable[[TuneProgress], None]


@dataclass
class TuneResult:
    """What a tuning run found, how it ran, and the files it wrote."""

    trials: list[Trial]
    protocol: Protocol
    best: Trial | None
    command: str
    """The best configuration as a `tsrnn train` command line ('' when no trial completed)."""
    baselines: dict[str, dict[str, float]]
    seconds: float
    stopped: str
    """trials (all asked for ran), budget, cancelled (a stop request or Ctrl+C), or running (the tables written
    after each trial while the search goes on)."""
    best_path: str | None = None
    ensemble: dict[str, Any] | None = None
    """{"members": trial numbers, "method", "metrics", "path"} when an ensemble was built."""
    files: dict[str, str] = field(default_factory=dict)

    @property
    def interrupted(self) -> str:
        """'interrupted after 3 of 20 trials: ...' when a stop request or Ctrl+C ended the search, else ''."""
        return self.protocol.interrupted or ""

    @property
    def partial(self) -> bool:
        """The search was interrupted, or is still running (the tables written after each trial)."""
        return self.stopped in ("cancelled", "running")

    def state_words(self) -> str:
        """How the search ended: 'stopped: budget', 'interrupted after 3 of 20 trials: ...', 'in progress: ...'."""
        if self.stopped == "running":
            ended = sum(t.state != "running" for t in self.trials)
            return f"in progress: {ended} trial{'s' if ended != 1 else ''} ended so far"
        return self.interrupted or f"stopped: {self.stopped}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "partial": self.partial,
            "interrupted": self.interrupted or None,
            "protocol": self.protocol.as_dict(),
            "best": self.best.to_row() if self.best else None,
            "command": self.command,
            "best_path": self.best_path,
            "ensemble": self.ensemble,
            "baselines": self.baselines,
            "seconds": round(self.seconds, 2),
            "stopped": self.stopped,
            "files": self.files,
            "trials": [t.to_row() for t in self.trials],
        }


def interrupted_words(
    trials: list[Trial], asked: int | None, elapsed: float, budget: float | None, lost: list[str]
) -> str:
    """'interrupted after 3 of 20 trials: trial 4 was stopped during its training and is not scored; no ensemble
    was built' (with a budget and no trial count: 'after 3 trials, 1 min 10 s into a 20 min budget')."""
    ended = sum(t.state not in ("running", "interrupted") for t in trials)
    if asked:
        head = f"interrupted after {ended} of {asked} trials"
    else:
        into = f", {format_seconds(elapsed)} into a {format_seconds(budget)} budget" if budget else ""
        head = f"interrupted after {ended} trial{'s' if ended != 1 else ''}{into}"
    parts = [f"trial {t.number} was stopped during its training and is not scored" for t in trials]
    parts = [p for p, t in zip(parts, trials, strict=True) if t.state == "interrupted"] + lost
    return head + (": " + "; ".join(parts) if parts else "")


def trials_frame(result: TuneResult) -> pl.DataFrame:
    return pl.DataFrame([t.to_row() for t in result.trials])


RESULT_FILES = ("best.onnx", "ensemble.onnx", "best_command.txt")


def clear_results(out_dir: Path) -> None:
    """Before a search first writes its trials table: remove the best model, the ensemble and the command line
    of an earlier search, which the new table does not describe."""
    for name in RESULT_FILES:
        (out_dir / name).unlink(missing_ok=True)


def write_tables(result: TuneResult, out_dir: Path) -> dict[str, str]:
    """trials.csv, trials.json, trials.md and best_command.txt in out_dir, each written atomically; the model
    files already written are listed too."""
    paths = {ext: out_dir / f"trials.{ext}" for ext in ("csv", "json", "md")}
    files = {k: str(p) for k, p in paths.items()}
    if result.command:
        files["command"] = str(out_dir / "best_command.txt")
    if result.best_path:
        files["best"] = result.best_path
    if result.ensemble and result.ensemble.get("path"):
        files["ensemble"] = result.ensemble["path"]
    result.files = files
    if result.trials:
        atomic_write(paths["csv"], lambda tmp: trials_frame(result).write_csv(tmp))
    else:
        atomic_write(paths["csv"], lambda tmp: tmp.write_text("trial,state\n"))
    atomic_write(paths["json"], lambda tmp: tmp.write_text(json.dumps(result.to_dict(), indent=2, default=str)))
    atomic_write(paths["md"], lambda tmp: tmp.write_text(format_markdown(result)))
    if result.command:
        atomic_write(out_dir / "best_command.txt", lambda tmp: tmp.write_text(result.command + "\n"))
    return files


def format_rows(result: TuneResult) -> tuple[list[str], list[list[str]]]:
    header = [
        "#",
        "state",
        "variant",
        "layers",
        "hidden",
        "window",
        "lr",
        "dropout",
        "wd",
        "loss",
        "skip",
        "MASE",
        "sMAPE %",
        "epochs",
        "s",
    ]
    rows = []
    best = result.best.number if result.best else None
    for t in result.trials:
        p, m = t.params, t.metrics
        rows.append(
            [
                str(t.number) + (" *" if t.number == best else ""),
                t.state,
                p["variant"],
                str(p["layers"]),
                str(p["hidden"]),
                str(p["input_len"]),
                f"{p['lr']:g}",
                f"{p['dropout']:g}",
                f"{p['weight_decay']:g}",
                p["loss"],
                str(p.get("seasonal_skip") or "-"),
                f"{m['mase']:.3f}" if "mase" in m else "-",
                f"{m['smape']:.2f}" if "smape" in m else "-",
                str(t.epochs),
                f"{t.seconds:.1f}",
            ]
        )
    return header, rows


def format_text(result: TuneResult) -> str:
    header, rows = format_rows(result)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i in (1, 2, 9) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    )


def format_markdown(result: TuneResult) -> str:
    p = result.protocol
    header, rows = format_rows(result)
    budget = f"budget {format_seconds(p.budget_s)}" if p.budget_s else "no budget"
    asked = f"{p.trials} trials asked" if p.trials else "trials until the budget ends"
    lines = [
        f"# tsrnn tune: {p.data}",
        "",
        f"{p.series} series, {p.frequency}, season {p.season}; horizon {p.horizon}, {p.folds} "
        f"rolling origins; {p.training}. {asked}, {budget}; {len(result.trials)} ran in "
        f"{format_seconds(result.seconds)} ({result.state_words()}). Sampler: {p.sampler}; pruning: "
        f"{p.pruner}. MASE is the mean over the folds; * best.",
        "",
        *([f"**Partial results, {result.state_words()}.**", ""] if result.partial else []),
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    base = ", ".join(f"{k.replace('_', ' ')} {v['mase']:.3f}" for k, v in result.baselines.items())
    lines += ["", f"Baselines on the same folds (MASE): {base}."]
    if result.best is not None:
        lines += [
            "",
            f"Best: trial {result.best.number} ({result.best.describe()}), MASE {result.best.mase:.3f}; "
            f"its backtest model: {result.best_path}. Train it on all the data with:",
            "",
            "```sh",
            result.command,
            "```",
        ]
    e = result.ensemble
    if e and e.get("path"):
        lines += [
            "",
            f"Ensemble ({e['method']} of trials {', '.join(map(str, e['members']))}): MASE "
            f"{e['metrics']['mase']:.3f}, one file: {e['path']}.",
        ]
    elif e:
        lines += ["", f"Ensemble {e['note']}."]
    return "\n".join(lines) + "\n"
