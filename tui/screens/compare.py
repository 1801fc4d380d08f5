"""Compare screen: backtest several RNN variants and the baselines on the same folds, rank them, export one."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Static, TabbedContent
from textual.worker import Worker, WorkerState

from tsrnn.core.budget import COMPARE_DEFAULTS, Deadline
from tsrnn.core.errors import ConfigError

from ..messages import Done, Progress
from ..text import for_tui, show_error
from ..widgets.leaderboard import LeaderboardTable, leaderboard_note
from ..widgets.plots import SeriesPlot
from ..widgets.variant_bars import BarState, VariantBars
from .compare_form import CompareForm
from .compare_progress import follow_compare
from .compare_row import RowChoice as RowChoice
from .compare_row import export_path, export_row, has_model, row_words
from .compare_status import RunWords, best_exported_words, done_words, start_words

if TYPE_CHECKING:
    from tsrnn.compare.request import CompareRequest
    from tsrnn.compare.run import Leaderboard, Row, Variant
    from tsrnn.core.config import ModelConfig, TrainConfig


class CompareView(Vertical):
    """Owns the compare worker, its progress bars, the leaderboard and the overlay plot."""

    FOCUS_FIRST = "#cmp-variants"
    """What the app focuses when the tab is shown."""
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+g", "tune", "Tune")]

    class StartRequested(Message):
        """The Compare button: the app gathers the data and Model-screen settings and calls start()."""

    class OpenInForecast(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class Exported(Message):
        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    def __init__(self, values: dict[str, Any], id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = values
        self.running = False
        self.board: Leaderboard | None = None
        self.data_path: Path | None = None
        self._stop = threading.Event()
        self._words = RunWords()

    def compose(self) -> ComposeResult:
        with Horizontal(id="cmp-top"):
            yield CompareForm(self._initial, id="cmp-left")
            with Vertical(id="cmp-right"):
                yield Static(
                    "Choose the variants and folds, then press Ctrl+R or Compare. Every variant gets the "
                    "same data, window and training budget (Model screen, F2).",
                    id="cmp-status",
                )
                with Horizontal(id="cmp-overall-row"):
                    yield Label("overall", classes="cmp-bar-name")
                    yield ProgressBar(total=1, show_eta=False, show_percentage=False, id="cmp-overall")
                    yield Label("", id="cmp-overall-text", classes="cmp-bar-text")
                yield VariantBars(id="cmp-bars")
                yield SeriesPlot(id="cmp-plot")
        yield LeaderboardTable(id="cmp-table", zebra_stripes=True, cursor_type="row")
        yield Static("", id="cmp-note")

    def on_mount(self) -> None:
        self.query_one(SeriesPlot).show_message("the variants' forecasts on the last fold appear here")
        self.query_one("#cmp-overall-text", Label).update("not started")

    # --- the form (the app reads it through the view) ------------------------------------------------

    def remembered(self) -> dict[str, Any]:
        return self.query_one(CompareForm).remembered()

    def budget(self) -> float | None:
        """The Time budget field in seconds (None: no limit); ConfigError when it is not a duration."""
        return self.query_one(CompareForm).budget()

    def options(self) -> tuple[list[Variant], int, bool, bool]:
        """The variants, folds, refit and export-best choices; ConfigError names the first wrong field."""
        return self.query_one(CompareForm).options()

    def show_settings(
        self, model_cfg: ModelConfig | None, train_cfg: TrainConfig | None, problem: str | None = None
    ) -> None:
        """What the Model screen contributes, so nobody has to switch tabs to check."""
        self.query_one(CompareForm).show_settings(model_cfg, train_cfg, problem)

    # --- running --------------------------------------------------------------------------------------

    async def start(self, request: CompareRequest) -> None:
        """Run the comparison that `request` describes (the app builds it from the Compare and Model screens), with
        the Time budget field's deadline, counted from the key press, and compare's default of windows per epoch."""
        if self.running:
            self.app.notify("A comparison is already running; cancel it first (Ctrl+X).", severity="warning")
            return
        try:
            budget = self.budget()
        except ConfigError as exc:
            self.app.notify(for_tui(exc.message), title="Cannot compare yet", severity="error", timeout=8)
            return
        deadline = Deadline(budget)  # counts from the key press
        train_cfg = request.train_cfg
        if train_cfg.windows_per_epoch is None:
            train_cfg = replace(train_cfg, windows_per_epoch=COMPARE_DEFAULTS["windows_per_epoch"])
        request = replace(request, train_cfg=train_cfg, deadline=deadline)
        self.running = True
        self._stop.clear()
        self._words.reset()
        self.data_path = request.data.path
        self.board = None
        per_variant = train_cfg.epochs * (request.folds if request.refit else 1)
        bars = [BarState(v.name, 0, per_variant) for v in request.variants]
        await self.query_one(VariantBars).reset(bars)
        self._show_bars(bars, 0)
        self.query_one("#cmp-table", DataTable).clear(columns=True)
        self.query_one("#cmp-note", Static).update("")
        self.query_one(SeriesPlot).show_message("the variants' forecasts on the last fold appear here")
        self.query_one("#cmp-status", Static).update(start_words(request))
        self._set_buttons()
        self.compare(request, bars)

    def cancel(self) -> None:
        if self.running:
            self._stop.set()
            self.query_one("#cmp-status", Static).update(
                "Cancelling after the current epoch; the variants not started are skipped …"
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def compare(self, request: CompareRequest, bars: list[BarState]) -> None:
        follow_compare(request, bars, self._stop, self.post_message)

    @on(Progress)
    def _progress(self, msg: Progress) -> None:
        self._show_bars(msg.bars, sum(b.state == "done" for b in msg.bars), msg.clock)
        if not self._stop.is_set():
            self.query_one("#cmp-status", Static).update(self._words.progress(msg))

    def _show_bars(self, bars: list[BarState], done: int, clock: str = "") -> None:
        if not self.query_one(VariantBars).show(bars):
            return  # the rows are being replaced by a newer run
        self.query_one("#cmp-overall", ProgressBar).update(total=len(bars), progress=done)
        self.query_one("#cmp-overall-text", Label).update(
            f"{done}/{len(bars)} variants" + (f" · {clock}" if clock else "")
        )

    @on(Done)
    def _done(self, msg: Done) -> None:
        self.running = False
        self._set_buttons()
        self._show_bars(msg.bars, sum(b.state in ("done", "stopped") for b in msg.bars), msg.clock)
        status = self.query_one("#cmp-status", Static)
        if msg.error is not None:
            show_error(status, msg.error.title, msg.error.message)
            return
        board = msg.board
        assert board is not None
        self.board = board
        self.query_one(LeaderboardTable).show_board(board)
        self.query_one("#cmp-note", Static).update(leaderboard_note(board))
        if self.app.query_one("#tabs", TabbedContent).active == "compare" and not isinstance(self.app.focused, Input):
            self.query_one("#cmp-table", DataTable).focus()  # so that Enter chooses a row at once
        status.update(done_words(board, msg.bars, msg.seconds, msg.cancelled))
        if board.best_path:
            self.app.notify(best_exported_words(board), title="Best exported")
            self.post_message(self.Exported(Path(board.best_path)))
        if msg.overlay is not None:
            o = msg.overlay
            dotted = [r.name for r in board.rows if r.kind == "baseline"]
            self.query_one(SeriesPlot).show_backtest(o.title, o.times, o.actual, o.origin, o.forecasts, dotted)

    # --- choosing a row ---------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#cmp-table")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        if self.board is None or event.row_key.value is None or isinstance(self.app.screen, RowChoice):
            return
        row = next((r for r in self.board.rows if r.name == event.row_key.value), None)
        if row is None or not has_model(self.app, row):
            return
        assert self.data_path is not None
        target = export_path(self.data_path, row.name)
        text = row_words(row, self.board.protocol)
        self.app.push_screen(RowChoice(text, target), lambda choice: self._do(choice, row, target))

    def _do(self, choice: str | None, row: Row, target: Path) -> None:
        if choice == "export":
            if (saved := export_row(self.app, row, target)) is not None:
                self.post_message(self.Exported(saved))
        elif choice == "forecast":
            self.post_message(self.OpenInForecast(str(row.model_path)))

    # --- buttons and errors -------------------------------------------------------------------------------

    @on(Button.Pressed, "#cmp-start")
    def _start_pressed(self) -> None:
        self.post_message(self.StartRequested())

    @on(Button.Pressed, "#cmp-cancel")
    def _cancel_pressed(self) -> None:
        self.cancel()

    @on(Button.Pressed, "#cmp-tune")
    def action_tune(self) -> None:
        open_tune(self.app)

    def _set_buttons(self) -> None:
        self.query_one("#cmp-start", Button).disabled = self.running
        self.query_one("#cmp-cancel", Button).disabled = not self.running
        self.app.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "compare" or event.state != WorkerState.ERROR:
            return
        self.running = False
        self._set_buttons()
        self.query_one("#cmp-status", Static).update(
            f"[b $error]Unexpected error:[/] {escape(repr(event.worker.error))}"
        )
        self.app.notify(f"{event.worker.error!r}", title="Unexpected error", severity="error", timeout=10)


def open_tune(app: App[Any]) -> None:
    """The Compare screen's Tune action: the data, the Model screen's settings and the Compare screen's variants
    and folds, in a dialog that runs the search."""
    from tsrnn.tune.request import TuneRequest

    from .model import ModelView
    from .train import TrainView
    from .tune import TuneScreen

    compare = app.query_one(CompareView)
    if app.query_one(TrainView).training or compare.running:
        app.notify(
            "Training or a comparison is running: cancel it (Ctrl+X) or wait for it before tuning.",
            title="Busy",
            severity="warning",
        )
        return
    try:
        variants, folds, _, _ = compare.options()
        data, model_cfg, train_cfg = app.query_one(ModelView).prepared()
    except ConfigError as exc:
        app.notify(for_tui(exc.message), title="Cannot tune yet", severity="error", timeout=8)
        return
    base = replace(model_cfg, num_layers=1, bidirectional=False)
    variant_names = ",".join(v.name for v in variants)
    app.push_screen(TuneScreen(TuneRequest(data, base, train_cfg, variants=variant_names, folds=folds)))
