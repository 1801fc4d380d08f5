"""Messages that more than one module of the app posts or reads: a comparison's progress and its end (posted by
the worker that follows `tsrnn compare`, read by the Compare screen and its status line)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from tsrnn.compare.run import Leaderboard
    from tsrnn.core.errors import TsrnnError

    from .screens.compare_overlay import Overlay
    from .widgets.variant_bars import BarState


class Progress(Message, namespace="compare_view"):
    """A full snapshot of every bar, so a newer message may replace an older one."""

    def __init__(
        self,
        bars: list[BarState],
        done: int,
        current: str,
        epoch: Any,
        clock: str = "",
        note: str | None = None,
        final: bool = False,
    ) -> None:
        super().__init__()
        self.bars, self.done, self.current, self.epoch = bars, done, current, epoch
        self.clock, self.note, self.final = clock, note, final

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Progress)


class Done(Message, namespace="compare_view"):
    def __init__(
        self,
        board: Leaderboard | None,
        overlay: Overlay | None,
        error: TsrnnError | None,
        cancelled: bool,
        bars: list[BarState],
        seconds: float,
        clock: str = "",
    ) -> None:
        super().__init__()
        self.board, self.overlay, self.error = board, overlay, error
        self.cancelled, self.bars, self.seconds, self.clock = cancelled, bars, seconds, clock
