"""The Compare screen's per-variant progress: one bar and one line of words for each variant being compared."""

from __future__ import annotations

from dataclasses import dataclass

from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Label, ProgressBar


@dataclass
class BarState:
    name: str
    done: int = 0
    total: int = 1
    state: str = "waiting"
    """waiting, training, done, skipped."""
    epochs: int = 0

    def copy(self) -> BarState:
        """A snapshot for a message, so that the worker may go on changing this one."""
        return BarState(self.name, self.done, self.total, self.state, self.epochs)

    def words(self) -> str:
        """'waiting', 'done, 12 epochs', '3/20 epochs' …"""
        return {
            "waiting": "waiting",
            "skipped": "skipped",
            "done": f"done, {self.epochs} epochs",
            "stopped": f"cancelled at {self.epochs} epochs",
        }.get(self.state, f"{self.done}/{self.total} epochs")


def _key(name: str) -> str:
    """A variant name as it appears in widget ids (#bar-gru_2, #bartext-gru_2)."""
    return name.replace("-", "_")


class VariantBars(Vertical):
    """The rows of bars (#bar-<variant> and #bartext-<variant>), replaced at the start of every run."""

    async def reset(self, bars: list[BarState]) -> None:
        """One waiting row per variant, in place of the last run's."""
        await self.remove_children()
        await self.mount_all([self._row(b) for b in bars])

    def _row(self, bar: BarState) -> Horizontal:
        return Horizontal(
            Label(bar.name, classes="cmp-bar-name"),
            ProgressBar(total=bar.total, show_eta=False, show_percentage=False, id=f"bar-{_key(bar.name)}"),
            Label("waiting", id=f"bartext-{_key(bar.name)}", classes="cmp-bar-text"),
            classes="cmp-bar-row",
        )

    def show(self, bars: list[BarState]) -> bool:
        """Every bar as it stands; False when the rows are being replaced by a newer run."""
        for b in bars:
            try:
                self.query_one(f"#bar-{_key(b.name)}", ProgressBar).update(total=b.total, progress=b.done)
                self.query_one(f"#bartext-{_key(b.name)}", Label).update(b.words())
            except NoMatches:
                return False
        return True
