"""What the Tune dialog says: the status line while trials run and when the search ends, and where its results
are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.markup import escape

from ..text import seconds

if TYPE_CHECKING:
    from tsrnn.tune.run import Trial, TuneProgress, TuneResult


def progress_words(e: TuneProgress, best: Trial | None) -> str:
    """The status line after a progress event: the running trial and its epoch, or the trials ended so far."""
    t = e.trial
    of = f" of {e.total}" if e.total else ""
    left = "" if e.remaining == float("inf") else f", {seconds(e.remaining)} left"
    clock = f"{seconds(e.elapsed)} elapsed{left}"
    if e.epoch is not None:
        return (
            f"Trial {t.number}{of}: {escape(t.describe())}\nepoch {e.epoch.epoch}/{e.epoch.epochs} · "
            f"validation {e.epoch.val_loss:.4f} · {clock}"
        )
    if t.state == "running":
        return f"Trial {t.number}{of}: {escape(t.describe())}\n{clock}"
    shown = f"best MASE {best.mase:.3f} (trial {best.number})" if best else "none complete yet"
    estimate = f"\n{escape(e.estimate)}" if e.estimate else ""
    return f"{e.done} trial{'s' if e.done != 1 else ''}{of} ended · {shown} · {clock}{estimate}"


def done_words(result: TuneResult, cancelled: bool, took: float) -> str:
    """The status line when the search ends: why it stopped, how many trials ran and the best one."""
    pruned = sum(t.state == "pruned" for t in result.trials)
    head = "[b $warning]Cancelled[/]" if cancelled else "[b $success]Done[/]"
    why = {"budget": ", the budget is spent", "cancelled": "", "trials": ""}[result.stopped]
    sn = result.baselines.get("seasonal_naive", {}).get("mase")
    against = f" (seasonal naive {sn:.3f})" if sn is not None else ""
    best = (
        f"best: trial {result.best.number}, MASE {result.best.mase:.3f}{against}"
        if result.best
        else "no trial completed"
    )
    return f"{head} in {seconds(took)}{why}: {len(result.trials)} trials ({pruned} pruned); {best}."


def result_words(result: TuneResult) -> str:
    """The lines under the table: the command that trains the best on all the data, the ensemble, the folder."""
    lines = []
    if result.best is not None:
        lines.append(f"Train it on all the data: {escape(result.command)}")
    e = result.ensemble
    if e and e.get("path"):
        lines.append(
            f"Ensemble ({e['method']} of trials {', '.join(map(str, e['members']))}): MASE "
            f"{e['metrics']['mase']:.3f}, {escape(e['path'])}"
        )
    elif e:
        lines.append(f"Ensemble {escape(e['note'])}")
    folder = Path(result.files["md"]).parent if result.files.get("md") else None
    if folder is not None:
        lines.append(f"Tables, best.onnx and best_command.txt are in {escape(str(folder))}/.")
    return "\n".join(lines)
