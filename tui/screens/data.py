"""Data screen: open a CSV or Parquet file (tree or typed path; a typed glob such as data/*.parquet opens a Parquet
data set), choose its columns, see a summary, a preview and a plot."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape as _escape
from textual.message import Message
from textual.widgets import Button, DataTable, DirectoryTree, Input, Label, Select, SelectionList, Static
from textual.worker import Worker, WorkerState, get_current_worker

from tsrnn.config import DataConfig
from tsrnn.errors import TsrnnError
from tsrnn.timefreq import TIME_NAMES

from ..text import for_tui
from ..widgets.plots import SeriesPlot, short_time

if TYPE_CHECKING:
    from tsrnn.data import SeriesSet

CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".pq"}
"""Files the tree shows: CSV-like text and Parquet."""
MAX_PLOTTED = 4


class CsvTree(DirectoryTree):
    """Folders, CSV-like and Parquet files only."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() in CSV_SUFFIXES)]


class DataView(Horizontal):
    """Owns the loading worker; tells the app about each successful load."""

    FOCUS_FIRST = "#data-path"
    """What the app focuses when the tab is shown (Inputs and lists are skipped otherwise: they scroll)."""

    class Loaded(Message):
        def __init__(self, data: SeriesSet) -> None:
            super().__init__()
            self.data = data

    class _Result(Message):
        def __init__(
            self, path: Path, columns: list[str], config: DataConfig, data: SeriesSet | None, error: TsrnnError | None
        ) -> None:
            super().__init__()
            self.path, self.columns, self.config, self.data, self.error = path, columns, config, data, error

    def __init__(self, start_dir: Path, id: str | None = None) -> None:
        super().__init__(id=id)
        self._start_dir = start_dir
        self.config = DataConfig()
        self.path: Path | None = None
        self.data: SeriesSet | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="data-left"):
            yield Label("CSV or Parquet: path + Enter, or pick", classes="section")
            with Horizontal(classes="row"):
                yield Input(placeholder="path/to/series.csv or .parquet", id="data-path", compact=True)
                yield Button("Open", id="data-open", compact=True)
            with Horizontal(classes="row"):
                yield Button("Up", id="tree-up", compact=True, tooltip="Show the parent folder")
                yield Static("", id="tree-root")
            yield CsvTree(self._start_dir, id="data-tree")
            with Vertical(id="data-columns"):
                yield Label("Time column", classes="section")
                yield Select([], prompt="auto-detect", id="time-col", compact=True)
                yield Label("Series id column (long format)", classes="section")
                yield Select([], prompt="none", id="id-col", compact=True)
                yield Label("Targets (forecast)", classes="section")
                yield SelectionList[str](id="targets")
                yield Label("Inputs (extra features)", classes="section")
                yield SelectionList[str](id="features")
        with Vertical(id="data-right"):
            with Horizontal(id="data-top"):
                yield Static("No file loaded yet.", id="data-summary")
                yield DataTable(id="data-preview", zebra_stripes=True, cursor_type="row")
            yield SeriesPlot(id="data-plot")

    def on_mount(self) -> None:
        self._show_root()
        self.query_one("#data-plot", SeriesPlot).show_message("open a CSV to plot its target")

    # --- opening -------------------------------------------------------------------------------------

    def open_path(self, path: str | Path, config: DataConfig | None = None) -> None:
        """Load a CSV or Parquet file (or a glob of Parquet files); a folder re-roots the tree instead."""
        p = Path(str(path).strip()).expanduser()
        if str(path).strip() == "":
            self.app.notify("Type the path of a CSV or Parquet file, or pick one in the tree.", severity="warning")
            return
        if p.is_dir():
            self._set_root(p)
            return
        self.query_one("#data-path", Input).value = str(path).strip()
        self.config = config or DataConfig()
        self.path = p
        self.query_one("#data-summary", Static).update(f"Loading {p.name} …")
        self.load(p, self.config)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self, path: Path, config: DataConfig) -> None:
        from tsrnn.csvio import read_header
        from tsrnn.data import load_series

        columns: list[str] = []
        data, error = None, None
        try:
            columns = read_header(path)
            data = load_series(path, config)
        except TsrnnError as exc:
            error = exc
        if not get_current_worker().is_cancelled:
            self.post_message(self._Result(path, columns, config, data, error))

    @on(_Result)
    def _on_result(self, msg: _Result) -> None:
        if msg.path != self.path or msg.config != self.config:
            return  # a newer request is on its way
        self._fill_columns(msg.columns, msg.data, msg.config)
        if msg.error is not None:
            self.data = None
            text = for_tui(msg.error.message)
            self.query_one("#data-summary", Static).update(
                f"[b $error]{msg.error.title}[/]\n{_escape(text)}\n\n"
                "Fix the file, or choose other columns on the left: it reloads on each change."
            )
            self.query_one("#data-preview", DataTable).clear(columns=True)
            self.query_one("#data-plot", SeriesPlot).show_message("nothing to plot")
            self.app.notify(text, title=msg.error.title, severity="error", timeout=8)
            return
        assert msg.data is not None
        self.data = msg.data
        self._show_summary(msg.data)
        self._show_preview(msg.data)
        self._show_plot(msg.data)
        self.post_message(self.Loaded(msg.data))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "load" and event.state == WorkerState.ERROR:
            self.app.notify(
                f"Could not load the file: {event.worker.error!r}",
                title="Unexpected error",
                severity="error",
                timeout=10,
            )

    # --- events ----------------------------------------------------------------------------------------

    @on(Input.Submitted, "#data-path")
    @on(Button.Pressed, "#data-open")
    def _open_typed(self) -> None:
        self.open_path(self.query_one("#data-path", Input).value)

    @on(DirectoryTree.FileSelected)
    def _open_picked(self, event: DirectoryTree.FileSelected) -> None:
        self.open_path(event.path)

    @on(Button.Pressed, "#tree-up")
    def _tree_up(self) -> None:
        tree = self.query_one(CsvTree)
        self._set_root(Path(tree.path).resolve().parent)

    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    def _columns_changed(self) -> None:
        if self.path is None:
            return
        wanted = self._config_from_widgets()
        if wanted != self.config:
            self.config = wanted
            self.query_one("#data-summary", Static).update(f"Reloading {self.path.name} …")
            self.load(self.path, wanted)

    # --- helpers -----------------------------------------------------------------------------------------

    def _set_root(self, folder: Path) -> None:
        tree = self.query_one(CsvTree)
        tree.path = folder
        self._show_root()

    def _show_root(self) -> None:
        tree = self.query_one(CsvTree)
        self.query_one("#tree-root", Static).update(_escape(str(Path(tree.path))))

    def _config_from_widgets(self) -> DataConfig:
        time_col = self.query_one("#time-col", Select).value
        id_col = self.query_one("#id-col", Select).value
        targets = tuple(self.query_one("#targets", SelectionList).selected)
        features = tuple(self.query_one("#features", SelectionList).selected)
        return DataConfig(
            time_col=time_col if isinstance(time_col, str) else None,
            id_col=id_col if isinstance(id_col, str) else None,
            targets=targets,
            features=tuple(f for f in features if f not in targets),
        )

    def _fill_columns(self, columns: list[str], data: SeriesSet | None, config: DataConfig) -> None:
        """Show the columns as loaded (or as requested when loading failed), without reloading."""
        time_col = data.time_col if data else config.time_col
        if time_col is None:  # loading failed before the time column was found: guess it by name
            time_col = next((c for c in columns if c.lower() in TIME_NAMES), None)
        id_col = data.id_col if data else config.id_col
        targets = data.targets if data else list(config.targets)
        features = data.features if data else [f for f in config.features if f != "all"]
        # The widgets now describe exactly what was loaded, so the change events they send compare
        # equal to self.config and trigger no reload.
        self.config = DataConfig(time_col=time_col, id_col=id_col, targets=tuple(targets), features=tuple(features))
        with self.prevent(Select.Changed, SelectionList.SelectedChanged):
            tsel = self.query_one("#time-col", Select)
            tsel.set_options([(c, c) for c in columns])
            tsel.value = time_col if time_col in columns else Select.NULL
            isel = self.query_one("#id-col", Select)
            isel.set_options([(c, c) for c in columns if c != time_col])
            isel.value = id_col if id_col in columns else Select.NULL
            values = [c for c in columns if c not in (time_col, id_col)]
            tl = self.query_one("#targets", SelectionList)
            tl.clear_options()
            tl.add_options([(c, c, c in targets) for c in values])
            fl = self.query_one("#features", SelectionList)
            fl.clear_options()
            fl.add_options([(c, c, c in features) for c in values if c not in targets])

    def _show_summary(self, data: SeriesSet) -> None:
        from tsrnn.calendar import auto_calendar
        from tsrnn.pipeline import default_input_len

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
            f"[b]{_escape(data.path.name)}[/]",
            f"rows        {rep.rows}",
            f"time span   {short_time(start)} → {short_time(end)}",
            f"frequency   {data.freq.label} ({data.freq.code}, season {data.freq.season})",
            f"series      {series}",
            f"targets     {_escape(', '.join(data.targets))}",
            f"inputs      {_escape(', '.join(data.channels))}",
            f"filled      {filled} missing values interpolated",
            f"gaps        {gaps}",
            f"defaults    window {default_input_len(data)}, horizon {data.freq.default_horizon()}",
            f"calendar    {', '.join(auto_calendar(data.freq, default_input_len(data))) or 'none'} (auto with the "
            "default window; set it and holidays on the Model screen)",
            f"sessions    {_escape(rep.sessions) if rep.sessions else 'none (every step of the day)'}",
        ]
        notes = rep.notes()
        lines.append("notes       " + (_escape("; ".join(notes)) if notes else "none"))
        self.query_one("#data-summary", Static).update("\n".join(lines))

    def _show_preview(self, data: SeriesSet) -> None:
        table = self.query_one("#data-preview", DataTable)
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

    def _show_plot(self, data: SeriesSet) -> None:
        plot = self.query_one("#data-plot", SeriesPlot)
        values = data.values[0]
        series = {t: values[:, j] for j, t in enumerate(data.targets[:MAX_PLOTTED])}
        which = f" — series '{data.ids[0]}' (1 of {data.n_series})" if data.id_col else ""
        plot.show_series(f"{', '.join(data.targets[:MAX_PLOTTED])}{which}", data.times[0], series)

    def remembered(self) -> dict[str, Any]:
        c = self.config
        return {
            "path": str(self.path) if self.path else None,
            "time_col": c.time_col,
            "id_col": c.id_col,
            "targets": list(c.targets),
            "features": [f for f in c.features if f != "all"],
        }
