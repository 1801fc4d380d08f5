"""The Data screen's report on a file: its summary (size, span, frequency, gaps, defaults, calendar) and a preview
of its first and last rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.markup import escape
from textual.widgets import DataTable, Static

from ..text import for_tui
from .plots import short_time

if TYPE_CHECKING:
    from tsrnn.core.errors import TsrnnError
    from tsrnn.data.loader import SeriesSet


class DataSummary(Static):
    """What was loaded and how it was cleaned, or why loading failed."""

    def show_data(self, data: SeriesSet) -> None:
        from tsrnn.experiment.pipeline import default_input_len
        from tsrnn.timeline.calendar import auto_calendar

        rep = data.report
        start, end = data.span()
        filled = sum(rep.filled_cells.values())
        gaps = (
            f"{rep.filled_rows} missing time steps inserted (longest {rep.longest_gap})" if rep.filled_rows else "none"
        )
        lengths = data.lengths
        series = (
            f"{data.n_series} (id column '{data.id_col}', {lengths.min()}–{lengths.max()} rows each)"
            if data.id_col
            else "1"
        )
        lines = [
            f"[b]{escape(data.path.name)}[/]",
            f"rows        {rep.rows}",
            f"time span   {short_time(start)} → {short_time(end)}",
            f"frequency   {data.freq.label} ({data.freq.code}, season {data.freq.season})",
            f"series      {series}",
            f"targets     {escape(', '.join(data.targets))}",
            f"inputs      {escape(', '.join(data.channels))}",
            f"filled      {filled} missing values interpolated",
            f"gaps        {gaps}",
            f"defaults    window {default_input_len(data)}, horizon {data.freq.default_horizon()}",
            f"calendar    {', '.join(auto_calendar(data.freq, default_input_len(data))) or 'none'} (auto with the "
            "default window; set it and holidays on the Model screen)",
            f"sessions    {escape(rep.sessions) if rep.sessions else 'none (every step of the day)'}",
        ]
        notes = rep.notes()
        lines.append("notes       " + (escape("; ".join(notes)) if notes else "none"))
        self.update("\n".join(lines))

    def show_error(self, error: TsrnnError) -> str:
        """Show why loading failed; returns the message as the TUI words it, for a notification."""
        text = for_tui(error.message)
        self.update(
            f"[b $error]{error.title}[/]\n{escape(text)}\n\n"
            "Fix the file, or choose other columns on the left: it reloads on each change."
        )
        return text


def show_preview(table: DataTable, data: SeriesSet) -> None:
    """The file's first and last rows as read (an ellipsis row between them when rows were left out)."""
    table.clear(columns=True)
    frame = data.raw_preview
    if frame is None:
        return
    table.add_columns("row", *frame.columns)
    rows = frame.rows()
    total = data.report.rows
    for i, row in enumerate(rows):
        if total > len(rows) and i == len(rows) // 2:
            table.add_row("…", *["…" for _ in row])
        line = i + 1 if total <= len(rows) or i < len(rows) // 2 else total - len(rows) + i + 1
        table.add_row(str(line), *["" if v is None else str(v) for v in row])
