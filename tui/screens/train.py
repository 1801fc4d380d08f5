"""Train screen: start and cancel training, live loss plot and progress, test metrics, ONNX export (and an
optional INT8 copy with its drift from the float model)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widgets import Button, Checkbox, DataTable, Input, Label, ProgressBar, Static
from textual.worker import Worker, WorkerState

from tsrnn.errors import TsrnnError
from tsrnn.extras import needs_extras

from ..text import seconds, show_error
from ..widgets.plots import LossPlot

if TYPE_CHECKING:
    from tsrnn.config import ModelConfig, TrainConfig
    from tsrnn.data import SeriesSet
    from tsrnn.export import ExportResult
    from tsrnn.pipeline import Experiment
    from tsrnn.quantize import Drift
    from tsrnn.train import EpochInfo

METHOD_NAMES = {"model": "model", "naive": "naive", "seasonal_naive": "seasonal naive", "drift": "drift"}
UPDATE_EVERY_S = 0.12
STOP_WORDS = {
    "finished": "Finished",
    "early_stopped": "Stopped early (validation loss stopped improving)",
    "cancelled": "Cancelled",
    "budget": "Stopped at the time budget",
}


class TrainView(Vertical):
    """Owns the training and export workers and what they produce."""

    DEFAULT_CSS = """
    TrainView #int8-result { height: auto; margin-top: 1; }
    """

    class Progress(Message):
        """One epoch done; carries the whole loss history so a newer message can replace an older one."""

        def __init__(self, info: EpochInfo, train: list[float], val: list[float]) -> None:
            super().__init__()
            self.info, self.train, self.val = info, train, val

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TrainView.Progress)

    class StartRequested(Message):
        """The Train button: the app gathers the settings and calls start()."""

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
        self.exporting = False
        self.experiment: Experiment | None = None
        self.last_export: ExportResult | None = None
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        with Horizontal(id="train-buttons", classes="row"):
            yield Button("Train  ^t", id="train-start", variant="primary", compact=True)
            yield Button("Cancel  ^x", id="train-cancel", variant="error", compact=True, disabled=True)
            yield Button("Export  ^e", id="train-export", variant="success", compact=True, disabled=True)
            yield Label(" to ", classes="inline-label")
            yield Input(placeholder="exports/<file>_<model>.onnx (train first)", id="export-path", compact=True)
            yield Checkbox(
                "INT8 copy",
                value=False,
                id="export-int8",
                compact=True,
                tooltip="After the export, also write <model>.int8.onnx (weights quantized to INT8) "
                "and compare its test metrics with the float model's",
            )
        yield Static("Set up the model on the Model screen (F2), then press Ctrl+T or Train.", id="train-status")
        yield ProgressBar(total=1, show_eta=False, id="train-progress")
        with Horizontal(id="train-body"):
            yield LossPlot(id="loss-plot")
            with VerticalScroll(id="train-results"):  # scrolls when the INT8 report is long
                yield Label("Test metrics (last horizon steps; lower is better)", classes="section")
                yield DataTable(id="metrics", cursor_type="row")
                yield Static("MASE < 1 beats the seasonal-naive forecast's in-sample error.", id="metrics-note")
                yield Static("", id="export-result")
                yield Static("", id="int8-result")

    def on_mount(self) -> None:
        self.query_one(LossPlot).show_losses([], [])

    # --- training -----------------------------------------------------------------------------------

    def start(self, data: SeriesSet, model_cfg: ModelConfig, train_cfg: TrainConfig) -> None:
        if self.training:
            self.app.notify("Training is already running; cancel it first (Ctrl+X).", severity="warning")
            return
        self.training = True
        self._stop.clear()
        self._set_buttons()
        self.query_one("#metrics", DataTable).clear(columns=True)
        self.query_one("#export-result", Static).update("")
        self.query_one("#int8-result", Static).update("")
        self.query_one(LossPlot).show_losses([], [])
        bar = self.query_one(ProgressBar)
        bar.update(total=train_cfg.epochs, progress=0)
        first = "" if "torch" in sys.modules else " (loading PyTorch takes a few seconds the first time)"
        self.query_one("#train-status", Static).update(
            f"Training {model_cfg.cell} {model_cfg.num_layers}×{model_cfg.hidden_size} on {data.path.name}{first} …"
        )
        self.train(data, model_cfg, train_cfg)

    def cancel(self) -> None:
        if self.training:
            self._stop.set()
            self.query_one("#train-status", Static).update("Cancelling after the current epoch …")

    @work(thread=True, exclusive=True, exit_on_error=False, group="train")
    def train(self, data: SeriesSet, model_cfg: ModelConfig, train_cfg: TrainConfig) -> None:
        from tsrnn.pipeline import train_experiment

        train: list[float] = []
        val: list[float] = []
        last_post = 0.0

        def on_epoch(info: EpochInfo) -> None:
            nonlocal last_post
            train.append(info.train_loss)
            val.append(info.val_loss)
            # Short epochs (tens of ms) would redraw the plot faster than anyone reads it and keep the
            # event loop busy; at most ~8 updates a second leaves it free for keys.
            now = time.perf_counter()
            if now - last_post >= UPDATE_EVERY_S or info.epoch == info.epochs:
                last_post = now
                self.post_message(self.Progress(info, list(train), list(val)))

        try:
            with needs_extras("Training"):
                exp = train_experiment(data, model_cfg, train_cfg, on_epoch=on_epoch, should_stop=self._stop.is_set)
        except TsrnnError as exc:
            self.post_message(self.Finished(None, exc))
        else:
            self.post_message(self.Finished(exp, None))

    @on(Progress)
    def _progress(self, msg: Progress) -> None:
        info = msg.info
        self.query_one(ProgressBar).update(total=info.epochs, progress=info.epoch)
        if not self._stop.is_set():
            self.query_one("#train-status", Static).update(
                f"epoch {info.epoch}/{info.epochs} · train {info.train_loss:.4f} · validation {info.val_loss:.4f} "
                f"(best {info.best_val:.4f}) · lr {info.lr:.2g} · {info.samples_per_s:,.0f} windows/s · "
                f"{seconds(info.eta)} left at most"
            )
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
        from tsrnn.pipeline import gap_note

        note = gap_note(exp.split, exp.data)
        status.update(
            f"[b]{STOP_WORDS.get(r.stopped, r.stopped)}[/] after {r.epochs_run} epochs in "
            f"{seconds(r.seconds)}; kept the best weights (epoch {r.best_epoch}). "
            "Export with Ctrl+E to forecast from the ONNX file."
            + (f"\n[b $warning]Note:[/] {escape(note)}" if note else "")
        )
        self._show_metrics(exp)
        self.query_one("#export-path", Input).value = str(exp.default_path())
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

    def _show_metrics(self, exp: Experiment) -> None:
        table = self.query_one("#metrics", DataTable)
        table.clear(columns=True)
        targets = list(next(iter(exp.scores.values())).keys())
        multi = len(targets) > 1
        table.add_columns("method", *(["target"] if multi else []), "MASE", "sMAPE %", "MAE", "RMSE")
        for method, per in exp.scores.items():
            for t, m in per.items():
                table.add_row(
                    METHOD_NAMES.get(method, method),
                    *([t] if multi else []),
                    f"{m['mase']:.3f}",
                    f"{m['smape']:.2f}",
                    _num(m["mae"]),
                    _num(m["rmse"]),
                )

    # --- export -------------------------------------------------------------------------------------

    def export(self) -> None:
        if self.experiment is None:
            self.app.notify("Nothing to export yet: train a model first (Ctrl+T).", severity="warning")
            return
        if self.training or self.exporting:
            self.app.notify("Wait for the running training or export to end.", severity="warning")
            return
        path = self.query_one("#export-path", Input).value.strip() or str(self.experiment.default_path())
        self.exporting = True
        self._set_buttons()
        int8 = self.query_one("#export-int8", Checkbox).value
        self.query_one("#export-result", Static).update(f"Exporting to {escape(path)} …")
        self.query_one("#int8-result", Static).update("")
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
            self.post_message(self._quantize(result.path, exp.data.path))

    def _quantize(self, float_path: Path, csv: Path) -> Quantized:
        """Runs on the export worker's thread: quantization and the two models' forecasts take seconds."""
        from tsrnn.quantize import measure_drift, quantize_model

        try:
            int8_path = quantize_model(float_path)
        except TsrnnError as exc:
            return self.Quantized(float_path, None, ("INT8 copy failed", exc.message))
        except OSError as exc:
            where = exc.filename or float_path
            return self.Quantized(
                float_path, None, ("INT8 copy failed", f"cannot write the INT8 copy of {where}: {exc.strerror or exc}")
            )
        try:
            return self.Quantized(float_path, measure_drift(float_path, int8_path, csv), None)
        except (TsrnnError, OSError) as exc:
            why = exc.message if isinstance(exc, TsrnnError) else (exc.strerror or str(exc))
            note = f"not scored on {csv.name}: {why}"
        try:  # the CSV could not be read again: still report sizes and quantized ops
            return self.Quantized(float_path, measure_drift(float_path, int8_path, None), None, note)
        except (TsrnnError, OSError) as exc:
            why = exc.message if isinstance(exc, TsrnnError) else (exc.strerror or str(exc))
            return self.Quantized(float_path, None, ("INT8 copy unreadable", f"{int8_path}: {why}"))

    @on(Exported)
    def _exported(self, msg: Exported) -> None:
        self.exporting = msg.error is None and msg.int8_pending
        self._set_buttons()
        out = self.query_one("#export-result", Static)
        if msg.error is not None:
            show_error(out, msg.error.title, msg.error.message)
            return
        r = msg.result
        assert r is not None
        self.last_export = r
        out.update(
            f"[b $success]Exported[/] {escape(str(r.path))} ({r.size_bytes / 1024:.0f} KiB)\n"
            f"ONNX Runtime vs PyTorch: max abs error {r.max_abs_error:.2e}, relative {r.max_rel_error:.2e} "
            f"(batches {', '.join(str(b) for b in r.batches)})\nForecast with it on the Forecast screen (F4)."
        )
        self.app.notify(f"Saved {r.path}", title="Exported")
        if msg.int8_pending:
            self.query_one("#int8-result", Static).update(
                "Writing the INT8 copy and comparing it with the float model on the training CSV …"
            )

    @on(Quantized)
    def _quantized(self, msg: Quantized) -> None:
        self.exporting = False
        self._set_buttons()
        out = self.query_one("#int8-result", Static)
        if msg.error is not None:
            title, message = msg.error
            show_error(out, title, f"{message}; the float model {msg.float_path} is kept")
            return
        d = msg.drift
        assert d is not None
        from tsrnn.quantize import format_drift

        lines = [
            f"[b $warning]{escape(line)}[/]" if line.startswith("warning:") else escape(line)
            for line in format_drift(d).splitlines()
        ]
        if msg.note:
            lines.append(f"[$text-muted]{escape(msg.note)}[/]")
        out.update("\n".join(lines))
        out.scroll_visible()
        if d.worse:
            self.app.notify(
                f"{d.int8_path}: the INT8 model forecasts materially worse than the float model; "
                "keep using the float model.",
                title="INT8 copy is worse",
                severity="warning",
                timeout=10,
            )
        else:
            self.app.notify(f"Saved {d.int8_path}", title="INT8 copy")

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
        self.query_one("#train-start", Button).disabled = self.training
        self.query_one("#train-cancel", Button).disabled = not self.training
        self.query_one("#train-export", Button).disabled = self.experiment is None or self.training or self.exporting
        self.app.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "train":
            self.training = False
        elif event.worker.group == "export":
            self.exporting = False
            int8 = self.query_one("#int8-result", Static)
            if str(int8.render()).startswith("Writing the INT8 copy"):
                int8.update(
                    "[b $error]INT8 copy failed[/]: an unexpected error (see the status line above); "
                    "the float model is kept."
                )
        self._set_buttons()
        self.query_one("#train-status", Static).update(f"[b $error]Unexpected error:[/] {event.worker.error!r}")
        self.app.notify(f"{event.worker.error!r}", title="Unexpected error", severity="error", timeout=10)


def _num(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.4e}"
