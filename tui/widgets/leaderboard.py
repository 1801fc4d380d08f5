"""The Compare screen's leaderboard: one row per ranked method, best first, and the note on how to read it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.markup import escape
from textual.widgets import DataTable

if TYPE_CHECKING:
    from tsrnn.compare.run import Leaderboard


class LeaderboardTable(DataTable[Any]):
    """A row table where one click chooses a row (DataTable needs a second click on the highlighted row)."""

    async def _on_click(self, event: events.Click) -> None:
        # Textual calls this before DataTable's own handler, which moves the cursor and posts RowSelected
        # itself only for a click on the cell under the cursor; announce every other click on a row here.
        row, column = event.style.meta.get("row"), event.style.meta.get("column")
        if not (isinstance(row, int) and 0 <= row < self.row_count):
            return
        if (row, column) != tuple(self.cursor_coordinate):  # DataTable selects only on the highlighted cell
            self.post_message(DataTable.RowSelected(self, row, self.ordered_rows[row].key))

    def show_board(self, board: Leaderboard) -> None:
        """The board's rows keyed by name: the best variant bold, a winning baseline warned, the others in
        italics; the cursor on the best variant, so that Enter at once offers it."""
        from rich.text import Text

        from tsrnn.compare.run import format_rows

        header, rows = format_rows(board)
        self.clear(columns=True)
        self.add_columns(*header)
        right = {i for i, h in enumerate(header) if h not in ("#", "variant")}
        for r, cells in zip(board.rows, rows, strict=True):
            style = (
                "bold"
                if r.name == board.best
                else "bold $warning"
                if r.name == board.winner and r.kind == "baseline"
                else "italic dim"
                if r.kind == "baseline"
                else ""
            )
            self.add_row(
                *[Text(c, style=style, justify="right" if i in right else "left") for i, c in enumerate(cells)],
                key=r.name,
            )
        best = next((i for i, r in enumerate(board.rows) if r.name == board.best), 0)
        self.move_cursor(row=best)


def leaderboard_note(board: Leaderboard) -> str:
    """What the columns and marks mean, how the variants were trained and where the tables are saved."""
    p = board.protocol
    files = board.files.get("md") or board.files.get("csv")
    where = f" Saved in {escape(str(Path(files).parent))}/." if files else ""
    levels = p.quantiles
    q = (
        f" Coverage: share of actual values inside the {levels[0]:g}–{levels[-1]:g} interval (aim "
        f"{levels[-1] - levels[0]:.2g}); MSIS: its scaled width and misses."
        if len(levels) > 1
        else ""
    )
    return (
        f"Mean ± spread over {p.folds} folds; lower is better; MASE < 1 beats the in-sample seasonal naive; "
        f"* best variant; ! a baseline that beats every variant; baselines in italics.{q} Training "
        f"{escape(str(p.training))}.{where}"
    )
