"""Train screen: start and cancel training, live loss plot and progress, test metrics, ONNX export (and an
optional INT8 copy with its drift from the float model)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, ProgressBar, Static
from textual.worker import Worker, WorkerState

from tsrnn.core.errors import TsrnnError
from tsrnn.core.extras import needs_extras
from tsrnn.core.paths import free_path
from tsrnn.data.seasons import describe_seasons

from ..text import seconds, show_error
from ..widgets.plots import LossPlot
from ..widgets.train_controls import TrainControls
from ..widgets.train_results import TrainResults
from .train_jobs import quantize_copy, train_with_progress

if TYPE_CHECKING:
    from tsrnn.core.config import ModelConfig, TrainConfig
    from tsrnn.data.loader import SeriesSet
    from tsrnn.experiment.pipeline import Experiment
    from tsrnn.export.exporter import ExportResult
    from tsrnn.export.quantize import Drift
    from tsrnn.model.train import EpochInfo

STOP_WORDS = {
    "finished": "Finished",
    "early_stopped": "Stopped early (validation loss stopped improving)",
    "cancelled": "Cancelled",
    "budget": "Stopped at the time budget",
}


class TrainView(Vertical):
    """Owns the training and export workers and what they produce."""

    class Progress(Message):
        """One epoch done; carries the whole loss history so a newer message can replace an older one."""

        def __init__(self, info: EpochInfo, train: list[float], val: list[float]) -> None:
            super().__init__()
            self.info, self.train, self.val = info, train, val

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TrainView.Progress)

    class StartRequested(Message):
        """The Train button: the app gathers the settings and calls start()."""

    class SeasonsChosen(Message):
        """The brief trainings decided on the seasons (one line: which, and the validation losses)."""

        def __init__(self, words: str) -> None:
            super().__init__()
            self.words = words

    class Finished(Message):
        def __init__(self, experiment: Experiment | None, error: TsrnnError | None) -> None:
            super().__init__()
            self.experiment, self.error = experiment, error

    class Exported(Message):
        """The float export ended; with `int8_pending` the worker goes on to quantize the file."""

        def __init__(
            self, result: ExportResult | None, error: TsrnnError | None, path: str, int8_pending: bool = False
        ) -> None:
            super().__init__()
            self.result, self.error, self.path, self.int8_pending = result, error, path, int8_pending

    class Quantized(Message):
        """The INT8 copy of an exported model: its drift, or why it could not be written."""

        def __init__(
            self, float_path: Path, drift: Drift | None, error: tuple[str, str] | None, note: str | None = None
        ) -> None:
            super().__init__()
            self.float_path, self.drift, self.error, self.note = float_path, drift, error, note

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.training = False
        self.season_words = ""
        """The last season choice of the brief trainings (Seasons: auto), for the results."""
        self.exporting = False
        self.experiment: Experiment | None = None
        self.last_export: ExportResult | None = None
        self.suggested = ""
        """The export path this screen filled in (a free name); a path the user typed is theirs."""
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield TrainControls(id="train-buttons", classes="row")
        yield Static("Set up the model on the Model screen (F2), then press Ctrl+T or Train.", id="train-status")
        yield ProgressBar(total=1, show_eta=False, id="train-progress")
        with Horizontal(id="train-body"):
            yield LossPlot(id="loss-plot")
            yield TrainResults(id="train-results")

    def on_mount(self) -> None:
        self.query_one(LossPlot).show_losses([], [])

    # --- training -----------------------------------------------------------------------------------

    def start(
        self, data: SeriesSet, model_cfg: ModelConfig, train_cfg: TrainConfig, try_seasons: tuple[int, ...] = ()
    ) -> None:
        """Train in a worker; `try_seasons` (Seasons: auto) are tried first in two brief trainings."""
        if self.training:
            self.app.notify("Training is already running; cancel it first (Ctrl+X).", severity="warning")
            return
        self.training = True
        self._stop.clear()
        self._set_buttons()
        self.query_one(TrainResults).clear()
        self.query_one(LossPlot).show_losses([], [])
        bar = self.query_one(ProgressBar)
        bar.update(total=train_cfg.epochs, progress=0)
        first = "" if "torch" in sys.modules else " (loading PyTorch takes a few seconds the first time)"
        self.query_one("#train-status", Static).update(
            f"Training {model_cfg.cell} {model_cfg.num_layers}×{model_cfg.hidden_size} on {data.path.name}{first} …"
        )
        if try_seasons:
            self.query_one("#train-status", Static).update(
                f"Trying the seasons {describe_seasons(try_seasons, data.freq)}: two brief trainings, with and "
                f"without them{first} …"
            )
        self.train(data, model_cfg, train_cfg, try_seasons)

    def cancel(self) -> None:
        if self.training:
            self._stop.set()
            self.query_one("#train-status", Static).update("Cancelling after the current epoch …")

    @work(thread=True, exclusive=True, exit_on_error=False, group="train")
    def train(
        self, data: SeriesSet, model_cfg: ModelConfig, train_cfg: TrainConfig, try_seasons: tuple[int, ...] = ()
    ) -> None:
        def report(info: EpochInfo, train: list[float], val: list[float]) -> None:
            self.post_message(self.Progress(info, train, val))

        def chosen(words: str) -> None:
            self.post_message(self.SeasonsChosen(words))

        try:
            exp = train_with_progress(
                data, model_cfg, train_cfg, report, self._stop.is_set, try_seasons=try_seasons, on_choice=chosen
            )
        except TsrnnError as exc:
            self.post_message(self.Finished(None, exc))
        else:
            self.post_message(self.Finished(exp, None))

    @on(SeasonsChosen)
    def _seasons_chosen(self, msg: SeasonsChosen) -> None:
        self.season_words = msg.words
        self.app.notify(escape(msg.words), title="Seasons", timeout=10)

    @on(Progress)
    def _progress(self, msg: Progress) -> None:
        info = msg.info
        self.query_one(ProgressBar).update(total=info.epochs, progress=info.epoch)
        if not self._stop.is_set():
            self.query_one("#train-status", Static).update(epoch_status(info))
        self.query_one(LossPlot).show_losses(msg.train, msg.val)

    @on(Finished)
    def _finished(self, msg: Finished) -> None:
        self.training = False
        status = self.query_one("#train-status", Static)
        if msg.error is not None:
            show_error(status, msg.error.title, msg.error.message)
            self._set_buttons()
            return
        exp = msg.experiment
        assert exp is not None
        self.experiment = exp
        self.last_export = None
        r = exp.result
        self.query_one(ProgressBar).update(total=exp.train_cfg.epochs, progress=r.epochs_run)
        self.query_one(LossPlot).show_losses(
            [h.train_loss for h in r.history], [h.val_loss for h in r.history], r.best_epoch
        )
        status.update(finished_status(exp))
        self.query_one(TrainResults).show_metrics(exp)
        self.suggested = str(free_path(exp.default_path()))
        self.query_one("#export-path", Input).value = self.suggested
        if r.stopped == "cancelled":
            self.app.notify(
                f"Training was cancelled at epoch {r.epochs_run} of {exp.train_cfg.epochs}. The model "
                f"keeps the best weights so far (epoch {r.best_epoch}) and may be undertrained: export "
                "it anyway, or press Ctrl+T to train again.",
                title="Training cancelled",
                severity="warning",
                timeout=10,
            )
        self._set_buttons()

    # --- export -------------------------------------------------------------------------------------

    def export(self) -> None:
        if self.experiment is None:
            self.app.notify("Nothing to export yet: train a model first (Ctrl+T).", severity="warning")
            return
        if self.training or self.exporting:
            self.app.notify("Wait for the running training or export to end.", severity="warning")
            return
        path = self.query_one("#export-path", Input).value.strip()
        if not path or path == self.suggested:
            # the name tsrnn suggested, not one the user typed: an existing file there (a model exported
            # before from this screen) is kept and the next free name is taken
            path = self.suggested = str(free_path(path or self.experiment.default_path()))
            self.query_one("#export-path", Input).value = path
        self.exporting = True
        self._set_buttons()
        int8 = self.query_one("#export-int8", Checkbox).value
        self.query_one(TrainResults).show_exporting(path)
        self.export_model(self.experiment, path, int8)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def export_model(self, exp: Experiment, path: str, int8: bool = False) -> None:
        try:
            with needs_extras("Export"):
                result = exp.export(path)
        except TsrnnError as exc:
            self.post_message(self.Exported(None, exc, path))
            return
        self.post_message(self.Exported(result, None, path, int8_pending=int8))
        if int8:
            self.post_message(self.Quantized(result.path, *quantize_copy(result.path, exp.data.path)))

    @on(Exported)
    def _exported(self, msg: Exported) -> None:
        self.exporting = msg.error is None and msg.int8_pending
        self._set_buttons()
        results = self.query_one(TrainResults)
        if msg.error is not None:
            results.show_export_error(msg.error)
            return
        r = msg.result
        assert r is not None
        self.last_export = r
        results.show_exported(r, msg.int8_pending)

    @on(Quantized)
    def _quantized(self, msg: Quantized) -> None:
        self.exporting = False
        self._set_buttons()
        results = self.query_one(TrainResults)
        if msg.error is not None:
            results.show_int8_error(*msg.error, msg.float_path)
            return
        assert msg.drift is not None
        results.show_drift(msg.drift, msg.note)

    # --- buttons and errors ---------------------------------------------------------------------------

    @on(Button.Pressed, "#train-start")
    def _start_pressed(self) -> None:
        self.post_message(self.StartRequested())

    @on(Button.Pressed, "#train-cancel")
    def _cancel_pressed(self) -> None:
        self.cancel()

    @on(Button.Pressed, "#train-export")
    @on(Input.Submitted, "#export-path")
    def _export_pressed(self) -> None:
        self.export()

    def _set_buttons(self) -> None:
        can_export = self.experiment is not None and not self.training and not self.exporting
        self.query_one(TrainControls).show_state(self.training, can_export)
        self.app.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "train":
            self.training = False
        elif event.worker.group == "export":
            self.exporting = False
            self.query_one(TrainResults).int8_interrupted()
        self._set_buttons()
        self.query_one("#train-status", Static).update(f"[b $error]Unexpected error:[/] {event.worker.error!r}")
        self.app.notify(f"{event.worker.error!r}", title="Unexpected error", severity="error", timeout=10)


def epoch_status(info: EpochInfo) -> str:
    """The status line while training: the last epoch's losses, speed and the time left."""
    return (
        f"epoch {info.epoch}/{info.epochs} · train {info.train_loss:.4f} · validation {info.val_loss:.4f} "
        f"(best {info.best_val:.4f}) · lr {info.lr:.2g} · {info.samples_per_s:,.0f} windows/s · "
        f"{seconds(info.eta)} left at most"
    )


def finished_status(exp: Experiment) -> str:
    """The status line after training: why it stopped, which weights it kept, and a note on gaps in the test block."""
    from tsrnn.experiment.pipeline import gap_note

    r = exp.result
    note = gap_note(exp.split, exp.data)
    return (
        f"[b]{STOP_WORDS.get(r.stopped, r.stopped)}[/] after {r.epochs_run} epochs in "
        f"{seconds(r.seconds)}; kept the best weights (epoch {r.best_epoch}). "
        "Export with Ctrl+E to forecast from the ONNX file."
        + (f"\n[b $warning]Note:[/] {escape(note)}" if note else "")
    )
