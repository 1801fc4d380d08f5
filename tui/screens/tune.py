"""Tune dialog (from the Compare screen): search cells, sizes, windows and training settings with Optuna in a
worker thread, with a live table of the trials as they end."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from tsrnn.core.errors import ConfigError, TsrnnError
from tsrnn.core.extras import needs_extras

from ..text import show_error
from ..widgets.trials_table import TrialsTable
from .tune_words import done_words, progress_words, result_words

if TYPE_CHECKING:
    from tsrnn.tune.request import TuneRequest
    from tsrnn.tune.run import Trial, TuneProgress, TuneResult

UPDATE_EVERY_S = 0.2


class TuneScreen(ModalScreen[None]):
    """Trials, budget and ensemble size; Start runs `tsrnn.tune.run.run_tune` in a thread; Ctrl+X cancels after the
    current epoch (the trials so far are kept and written)."""

    DEFAULT_CSS = """
    TuneScreen { align: center middle; }
    #tune-box { width: 110; height: 36; padding: 0 1; border: round $primary; background: $surface; }
    #tune-about { height: auto; color: $text-muted; }
    #tune-form { height: 1; margin-top: 1; }
    #tune-form Label { padding: 0 1 0 0; }
    #tune-form Input { width: 12; margin-right: 2; }
    #tune-buttons { height: 1; margin-top: 1; }
    #tune-buttons Button { margin-right: 1; }
    #tune-status { height: 3; margin-top: 1; }
    #tune-table { height: 1fr; }
    #tune-result { height: auto; max-height: 5; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+x", "cancel_tune", "Cancel", priority=True),
        Binding("escape", "close", "Close"),
    ]

    class Progress(Message):
        def __init__(self, event: TuneProgress) -> None:
            super().__init__()
            self.event = event

    class Done(Message):
        def __init__(
            self, result: TuneResult | None, error: TsrnnError | None, cancelled: bool, seconds: float
        ) -> None:
            super().__init__()
            self.result, self.error, self.cancelled, self.seconds = result, error, cancelled, seconds

    def __init__(self, request: TuneRequest) -> None:
        """`request`: the data, the Model screen's settings and the Compare screen's variants and folds; the dialog
        adds its trials, budget and ensemble size."""
        super().__init__(id="tune-screen")
        self.request = request
        self.running = False
        self.result: TuneResult | None = None
        self._stop = threading.Event()
        self._best: Trial | None = None

    def compose(self) -> ComposeResult:
        from tsrnn.tune.run import tune_variants

        r = self.request
        tc = r.train_cfg
        with Vertical(id="tune-box"):
            yield Static(
                f"[b]Tune[/] on {escape(r.data.path.name)}: cells and directions "
                f"{escape(', '.join(tune_variants(r.variants)))} (Compare screen), {r.folds} fold"
                f"{'s' if r.folds > 1 else ''} × horizon {r.base.horizon}; layers 1–3, hidden 16–128, window, "
                f"learning rate, dropout, weight decay and loss are searched. Each trial: up to {tc.epochs} epochs "
                f"(patience {tc.patience}), batch {tc.batch_size}, seed {tc.seed} (Model screen).",
                id="tune-about",
            )
            with Horizontal(id="tune-form"):
                yield Label("Trials")
                yield Input("10", id="tune-trials", compact=True, select_on_focus=True)
                yield Label("Budget")
                yield Input("", placeholder="e.g. 5m", id="tune-budget", compact=True)
                yield Label("Ensemble of")
                yield Input("0", id="tune-ensemble", compact=True, select_on_focus=True)
            with Horizontal(id="tune-buttons"):
                yield Button("Start", id="tune-start", variant="primary", compact=True)
                yield Button("Cancel  ^x", id="tune-cancel", variant="error", compact=True, disabled=True)
                yield Button("Close  esc", id="tune-close", compact=True)
            yield Static(
                "Trials: how many configurations to try (blank with a budget: as many as fit). Budget: "
                "90s, 5m, 1h or blank. Ensemble of: 0, or 2+ to also combine the best trials in one file.",
                id="tune-status",
            )
            yield TrialsTable(id="tune-table", zebra_stripes=True, cursor_type="row")
            yield Static("", id="tune-result")

    def on_mount(self) -> None:
        self.query_one("#tune-start", Button).focus()

    # --- the form -------------------------------------------------------------------------------------------

    def options(self) -> tuple[int | None, float | None, int]:
        """Trials, budget seconds and ensemble size; ConfigError names the wrong field."""
        from tsrnn.core.budget import parse_budget

        text = self.query_one("#tune-trials", Input).value.strip()
        budget_text = self.query_one("#tune-budget", Input).value.strip()
        budget = parse_budget(budget_text) if budget_text else None
        trials = None
        if text:
            try:
                trials = int(text)
            except ValueError:
                raise ConfigError(f"Trials: '{text}' is not a whole number") from None
            if trials < 1:
                raise ConfigError("Trials: at least 1")
        elif budget is None:
            raise ConfigError("Trials: give a number of trials, a budget, or both")
        e_text = self.query_one("#tune-ensemble", Input).value.strip() or "0"
        try:
            ensemble = int(e_text)
        except ValueError:
            raise ConfigError(f"Ensemble of: '{e_text}' is not a whole number") from None
        if ensemble < 0 or ensemble == 1:
            raise ConfigError("Ensemble of: 0 (none) or at least 2 trials")
        return trials, budget, ensemble

    # --- running ------------------------------------------------------------------------------------------

    @on(Button.Pressed, "#tune-start")
    def start(self) -> None:
        if self.running:
            return
        try:
            trials, budget, ensemble = self.options()
        except ConfigError as exc:
            show_error(self.query_one("#tune-status", Static), "Cannot tune", exc.message)
            return
        self.running = True
        self._stop.clear()
        self._best = None
        self.result = None
        self.query_one(TrialsTable).clear()
        self.query_one("#tune-result", Static).update("")
        self.query_one("#tune-status", Static).update(
            "Starting (loading PyTorch and Optuna takes a few seconds the first time) …"
        )
        self._set_buttons()
        self.tune(trials, budget, ensemble)

    @work(thread=True, exclusive=True, exit_on_error=False, group="tune")
    def tune(self, trials: int | None, budget: float | None, ensemble: int) -> None:
        t0 = time.perf_counter()
        last = [0.0]

        def progress(event: TuneProgress) -> None:
            now = time.perf_counter()
            if event.epoch is None or now - last[0] >= UPDATE_EVERY_S:
                last[0] = now
                self.post_message(self.Progress(event))

        try:
            with needs_extras("Tune"):
                from tsrnn.tune.run import run_tune

                request = replace(self.request, trials=trials, budget=budget, ensemble=ensemble)
                result = run_tune(request, on_progress=progress, should_stop=self._stop.is_set)
        except TsrnnError as exc:
            self.post_message(self.Done(None, exc, self._stop.is_set(), time.perf_counter() - t0))
            return
        self.post_message(self.Done(result, None, self._stop.is_set(), time.perf_counter() - t0))

    @on(Progress)
    def _progress(self, msg: Progress) -> None:
        if self._stop.is_set():
            return
        e, t = msg.event, msg.event.trial
        if e.epoch is None and t.state != "running":
            self.query_one(TrialsTable).add_trial(t)
            if t.state == "complete" and (self._best is None or t.mase < self._best.mase):
                self._best = t
        self.query_one("#tune-status", Static).update(progress_words(e, self._best))

    @on(Done)
    def _done(self, msg: Done) -> None:
        self.running = False
        self._set_buttons()
        status = self.query_one("#tune-status", Static)
        if msg.error is not None:
            show_error(status, msg.error.title, msg.error.message)
            return
        result = msg.result
        assert result is not None
        self.result = result
        self.query_one(TrialsTable).add_missing(result.trials)
        status.update(done_words(result, msg.cancelled, msg.seconds))
        self.query_one("#tune-result", Static).update(result_words(result))

    def _set_buttons(self) -> None:
        self.query_one("#tune-start", Button).disabled = self.running
        self.query_one("#tune-cancel", Button).disabled = not self.running
        self.query_one("#tune-close", Button).disabled = self.running

    # --- cancel and close -----------------------------------------------------------------------------------

    @on(Button.Pressed, "#tune-cancel")
    def action_cancel_tune(self) -> None:
        if self.running:
            self._stop.set()
            self.query_one("#tune-status", Static).update(
                "Cancelling after the current epoch; the trials so far are kept and written …"
            )

    @on(Button.Pressed, "#tune-close")
    def action_close(self) -> None:
        if self.running:
            self.app.notify("A search is running: cancel it first (Ctrl+X).", severity="warning")
            return
        self.dismiss(None)

    def on_unmount(self) -> None:
        self._stop.set()  # the app is closing: let the worker end after its epoch

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "tune" or event.state != WorkerState.ERROR:
            return
        self.running = False
        self._set_buttons()
        self.query_one("#tune-status", Static).update(
            f"[b $error]Unexpected error:[/] {escape(repr(event.worker.error))}"
        )
