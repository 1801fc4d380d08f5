"""A labelled form row: label, control, and an error or hint beside it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, Static


class FieldRow(Horizontal):
    """One setting on the Model screen; `show_error` marks it before training starts."""

    def __init__(self, label: str, control: Widget, field_id: str) -> None:
        super().__init__(id=f"row-{field_id}", classes="field-row")
        self._label = label
        self._control = control
        self.field_id = field_id

    def compose(self) -> ComposeResult:
        yield Label(self._label, classes="field-label")
        yield self._control
        yield Static("", id=f"msg-{self.field_id}", classes="field-msg")

    def show_error(self, message: str | None, hint: str = "") -> None:
        msg = self.query_one(".field-msg", Static)
        self.set_class(bool(message), "-invalid")
        msg.set_class(bool(message), "-error")
        msg.update(message or hint)
