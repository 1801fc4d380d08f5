"""The Tune dialog's live table: one row per trial as it ends, the newest highlighted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import DataTable

if TYPE_CHECKING:
    from tsrnn.tune.run import Trial

COLUMNS = ("#", "state", "cell, layers x hidden, window, lr, dropout, wd, loss", "MASE", "epochs", "s")


class TrialsTable(DataTable[Any]):
    """Trials keyed by number; a trial that did not complete is dimmed and has no MASE."""

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def add_trial(self, t: Trial) -> None:
        """A row for an ended trial, with the cursor on it."""
        from rich.text import Text

        mase = f"{t.mase:.3f}" if t.state == "complete" else "-"
        style = "dim" if t.state != "complete" else ""
        cells = [str(t.number), t.state, t.describe(), mase, str(t.epochs), f"{t.seconds:.1f}"]
        self.add_row(
            *[Text(c, style=style, justify="right" if i in (0, 3, 4, 5) else "left") for i, c in enumerate(cells)],
            key=str(t.number),
        )
        self.move_cursor(row=self.row_count - 1)

    def add_missing(self, trials: list[Trial]) -> None:
        """Rows for the trials not shown yet (their message was still queued when the search ended)."""
        shown = {str(k.value) for k in self.rows}
        for t in trials:
            if str(t.number) not in shown:
                self.add_trial(t)
