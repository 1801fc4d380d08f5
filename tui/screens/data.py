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

from tsrnn.core.config import DataConfig
from tsrnn.core.errors import TsrnnError

from ..widgets.column_picker import ColumnPicker
from ..widgets.data_summary import DataSummary, show_preview
from ..widgets.plots import SeriesPlot

if TYPE_CHECKING:
    from tsrnn.data.loader import SeriesSet

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
            yield ColumnPicker(id="data-columns")
        with Vertical(id="data-right"):
            with Horizontal(id="data-top"):
                yield DataSummary("No file loaded yet.", id="data-summary")
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
        from tsrnn.data.csvio import read_header
        from tsrnn.data.loader import load_series

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
        # The widgets now describe exactly what was loaded, so the change events they send compare
        # equal to self.config and trigger no reload.
        self.config = self.query_one(ColumnPicker).show(msg.columns, msg.data, msg.config)
        if msg.error is not None:
            self.data = None
            text = self.query_one(DataSummary).show_error(msg.error)
            self.query_one("#data-preview", DataTable).clear(columns=True)
            self.query_one("#data-plot", SeriesPlot).show_message("nothing to plot")
            self.app.notify(text, title=msg.error.title, severity="error", timeout=8)
            return
        assert msg.data is not None
        self.data = msg.data
        self.query_one(DataSummary).show_data(msg.data)
        show_preview(self.query_one("#data-preview", DataTable), msg.data)
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
        wanted = self.query_one(ColumnPicker).chosen()
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
