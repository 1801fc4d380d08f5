"""Following a comparison from its worker thread: the engine's progress callbacks become bar states, and
throttled messages carry snapshots of them (and at the end the leaderboard) to the Compare screen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message

from tsrnn.core.budget import Deadline
from tsrnn.core.errors import TsrnnError
from tsrnn.core.extras import needs_extras

from ..messages import Done, Progress
from ..widgets.variant_bars import BarState
from .compare_overlay import last_fold_overlay
from .compare_status import elapsed_words, spent_words

if TYPE_CHECKING:
    from tsrnn.compare.request import CompareRequest
    from tsrnn.compare.run import CompareProgress

UPDATE_EVERY_S = 0.12


class ProgressTracker:
    """The `on_progress` of `tsrnn.compare.run.run_compare`: it moves the bars (epochs of every origin when each
    origin is refit) and posts a Progress at most every UPDATE_EVERY_S, and always as a variant starts."""

    def __init__(self, bars: list[BarState], epochs: int, post: Callable[[Message], object]) -> None:
        self.bars, self.epochs, self.post = bars, epochs, post
        self.origin = 0
        self.last_post = 0.0

    def _post(self, p: CompareProgress, note: str | None, final: bool = False, now: bool = False) -> None:
        """A snapshot, unless the last one was sent under UPDATE_EVERY_S ago (and `now` is False)."""
        t = time.perf_counter()
        if now or t - self.last_post >= UPDATE_EVERY_S:
            self.last_post = t
            snapshot = [b.copy() for b in self.bars]
            self.post(
                Progress(snapshot, p.index, p.variant, p.epoch, elapsed_words(p.elapsed, p.remaining), note, final)
            )

    def __call__(self, p: CompareProgress) -> None:
        if p.estimate or p.final:  # the plan, or the best variant's retraining: no bar of its own
            if p.final:
                for b in self.bars:
                    if b.state == "training":
                        b.state, b.done = "done", b.total
            note = f"estimate: {p.estimate}" if p.estimate else p.note
            self._post(p, note, p.final, now=bool(p.estimate) or p.epoch is None)
            return
        bar = self.bars[p.index]
        if p.epoch is None:  # a variant starts: the previous one is done
            for earlier in self.bars[: p.index]:
                if earlier.state == "training":
                    earlier.state, earlier.done = "done", earlier.total
            bar.state = "training"
            self.origin = 0
        else:
            if p.epoch.epoch == 1 and bar.epochs:  # refit: the next origin's training begins
                self.origin += 1
            bar.epochs += 1
            bar.done = min(bar.total, self.origin * self.epochs + p.epoch.epoch)
        self._post(p, p.note, now=p.epoch is None)

    def finish(self, cancelled: bool) -> None:
        """The bars as the run ended: a training one done (or stopped, when cancelled), a waiting one skipped."""
        for b in self.bars:
            if b.state == "training":
                b.state = "stopped" if cancelled else "done"
                b.done = b.done if cancelled else b.total
            elif b.state == "waiting":
                b.state = "skipped"


def follow_compare(
    request: CompareRequest, bars: list[BarState], stop: threading.Event, post: Callable[[Message], object]
) -> None:
    """The Compare worker's job, in its thread: run the comparison, post Progress as it trains and Done at the
    end with the leaderboard and the last fold's forecasts (or the error)."""
    from tsrnn.compare.run import run_compare

    t0 = time.perf_counter()
    deadline = request.deadline or Deadline(None)
    tracker = ProgressTracker(bars, request.train_cfg.epochs, post)
    try:
        with needs_extras("Compare"):
            board = run_compare(request, on_progress=tracker, should_stop=stop.is_set)
        overlay = last_fold_overlay(request.data, board, request.base, request.folds)
    except TsrnnError as exc:
        post(Done(None, None, exc, stop.is_set(), bars, time.perf_counter() - t0, spent_words(deadline)))
        return
    tracker.finish(stop.is_set())
    post(Done(board, overlay, None, stop.is_set(), bars, time.perf_counter() - t0, spent_words(deadline)))
