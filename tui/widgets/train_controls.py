"""The Train screen's row of controls: Train, Cancel and Export, the export path and the INT8 choice."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Input, Label


class TrainControls(Horizontal):
    """Presses bubble up to the Train screen; `show_state` enables what can be done now."""

    def compose(self) -> ComposeResult:
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

    def show_state(self, training: bool, can_export: bool) -> None:
        self.query_one("#train-start", Button).disabled = training
        self.query_one("#train-cancel", Button).disabled = not training
        self.query_one("#train-export", Button).disabled = not can_export
