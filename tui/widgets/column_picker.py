"""The Data screen's column choice: time and id columns, targets and extra inputs, as loaded or as requested."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select, SelectionList

from tsrnn.core.config import DataConfig
from tsrnn.timeline.timefreq import TIME_NAMES

if TYPE_CHECKING:
    from tsrnn.data.loader import SeriesSet


class ColumnPicker(Vertical):
    """Each change sends Select.Changed or SelectionList.SelectedChanged; `chosen()` reads the choice."""

    def compose(self) -> ComposeResult:
        yield Label("Time column", classes="section")
        yield Select([], prompt="auto-detect", id="time-col", compact=True)
        yield Label("Series id column (long format)", classes="section")
        yield Select([], prompt="none", id="id-col", compact=True)
        yield Label("Targets (forecast)", classes="section")
        yield SelectionList[str](id="targets")
        yield Label("Inputs (extra features)", classes="section")
        yield SelectionList[str](id="features")

    def chosen(self) -> DataConfig:
        """The columns as the widgets show them."""
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

    def show(self, columns: list[str], data: SeriesSet | None, config: DataConfig) -> DataConfig:
        """Show the columns as loaded (or as requested when loading failed) without sending change events;
        returns the config the widgets now describe."""
        time_col = data.time_col if data else config.time_col
        if time_col is None:  # loading failed before the time column was found: guess it by name
            time_col = next((c for c in columns if c.lower() in TIME_NAMES), None)
        id_col = data.id_col if data else config.id_col
        targets = data.targets if data else list(config.targets)
        features = data.features if data else [f for f in config.features if f != "all"]
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
        return DataConfig(time_col=time_col, id_col=id_col, targets=tuple(targets), features=tuple(features))
