"""What the Compare screen says about a run: the clock against its time budget, the status line as it starts,
trains (with the run's estimate) and ends, and where the best model was exported."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from textual.markup import escape

from tsrnn.core.budget import Deadline, format_seconds
from tsrnn.data.seasons import choice_words

from ..text import seconds

if TYPE_CHECKING:
    from tsrnn.compare.request import CompareRequest
    from tsrnn.compare.run import Leaderboard

    from ..messages import Progress
    from ..widgets.variant_bars import BarState

BASELINE_WORDS = {
    "naive": "naive (last value)",
    "seasonal_naive": "seasonal naive (last season)",
    "drift": "drift (straight line)",
}


def elapsed_words(elapsed: float, remaining: float | None) -> str:
    """'1 min 10 s elapsed, 3 min 50 s left' ('12 s elapsed' without a budget)."""
    left = "" if remaining is None else f", {format_seconds(remaining)} left"
    return f"{format_seconds(elapsed)} elapsed{left}"


def spent_words(deadline: Deadline) -> str:
    """'4 min 52 s of a 5 min budget' ('1 min 10 s, no budget')."""
    if deadline.seconds is None:
        return f"{format_seconds(deadline.elapsed())}, no budget"
    return f"{format_seconds(deadline.elapsed())} of a {format_seconds(deadline.seconds)} budget"


def start_words(request: CompareRequest) -> str:
    """What a comparison is about to do, as it starts."""
    variants, folds = len(request.variants), request.folds
    extra = " and retraining the best on all the data" if request.export_best else ""
    return (
        f"Comparing {variants} variant{'s' if variants > 1 else ''} on {escape(request.data.path.name)}: "
        f"{folds} fold{'s' if folds > 1 else ''} × horizon {request.base.horizon}, "
        f"{'refit at every origin' if request.refit else 'trained once before the first origin'}{extra} …"
    )


class RunWords:
    """The status line while a comparison trains; it keeps the run's estimate and what the current training
    was given, which arrive once each and stay shown."""

    def __init__(self) -> None:
        self.estimate = ""
        self.note: str | None = None

    def reset(self) -> None:
        self.estimate, self.note = "", None

    def progress(self, msg: Progress) -> str:
        """The status line after a progress message (escaped markup)."""
        if msg.note and msg.note.startswith("estimate: "):
            self.estimate = msg.note[len("estimate: ") :]
        elif msg.note and msg.epoch is None:
            self.note = msg.note  # what this training was given
        where = f"{msg.current} ({msg.done + 1} of {len(msg.bars)})"
        given = f" ({self.note})" if self.note else ""
        if msg.final:
            e = msg.epoch
            text = f"Retraining {msg.current} on all the data{f': epoch {e.epoch}/{e.epochs}' if e else given} …"
        elif msg.epoch is None:
            first = "" if "torch" in sys.modules else " (loading PyTorch takes a few seconds the first time)"
            text = f"Training {where}{given}{first} …"
        else:
            e = msg.epoch
            text = (
                f"Training {where}: epoch {e.epoch}/{e.epochs} · train {e.train_loss:.4f} · validation "
                f"{e.val_loss:.4f} · {seconds(e.eta)} left at most for this variant"
            )
        estimate = f"\nEstimate: {self.estimate}" if self.estimate else ""
        return escape(text + estimate)


def done_words(board: Leaderboard, bars: list[BarState], took: float, cancelled: bool) -> str:
    """The status line when a comparison ends: how many variants were ranked and which won."""
    models = [r for r in board.rows if r.kind == "model"]
    if cancelled or board.interrupted:
        # the leaderboard's own words, as its files say them: which training was cut (not ranked), what was not
        # started, that nothing was exported
        lost = board.interrupted.partition(": ")[2]
        return (
            f"[b $warning]Cancelled[/] after {seconds(took)}: {len(models)} of {len(bars)} variants ranked"
            + (f"; {escape(lost)}" if lost else "")
            + ". Press Ctrl+R to run again."
        )
    best = f"best: [b]{escape(board.best)}[/] (lowest mean MASE)" if board.best else "no variant ranked"
    if board.baseline_wins:
        best = (
            f"[b $warning]a baseline wins:[/] {escape(board.verdict)} More epochs, another window or "
            "more hidden units may change that"
        )
    n = f"{len(models)} variant{'s' if len(models) != 1 else ''}"
    choice = board.protocol.season_choice
    seasons = f" {escape(choice_words(choice))}." if choice else ""
    return (
        f"[b $success]Done[/] in {seconds(took)}: {n} and 3 baselines "
        f"ranked on {board.protocol.folds} folds; {best}.{seasons} Enter on a row exports it or opens "
        "it in the Forecast screen."
    )


def best_exported_words(board: Leaderboard) -> str:
    """The notice for 'Retrain the best on all data': which model is in board.best_path."""
    exported = next((r for r in board.rows if r.name == board.exported), None)
    if exported is not None and exported.kind == "baseline":
        return (
            f"The best model is the {BASELINE_WORDS.get(exported.name, exported.name)} baseline, "
            f"no network: {board.best_path}"
        )
    return f"The best variant, retrained on all the data, is in {board.best_path}"
