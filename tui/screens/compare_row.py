"""A chosen leaderboard row: whether it has a model to offer, what it is, and the dialog that exports it or opens
it in the Forecast screen."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Static

import tsrnn.core.paths as paths
from tsrnn.core.errors import TsrnnError
from tsrnn.core.paths import copy_model

from .compare_status import BASELINE_WORDS

if TYPE_CHECKING:
    from tsrnn.compare.run import Row
    from tsrnn.evaluate.protocol import Protocol


def export_path(csv: Path, variant: str) -> Path:
    """Where a chosen row is exported: exports/<csvstem>_<variant>.onnx (the engine's rule), or a free
    exports/<csvstem>_<variant>-2.onnx, -3, ... when that file exists: an export never replaces a model."""
    return paths.free_path(paths.export_path(csv.stem, variant))


class RowChoice(ModalScreen[str | None]):
    """What to do with a chosen variant: export it to exports/, open it in the Forecast screen, or nothing."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "choose('export')", "Export", show=False),
        Binding("f", "choose('forecast')", "Forecast", show=False),
        Binding("escape", "choose(None)", "Close", show=False),
    ]

    def __init__(self, text: str, target: Path) -> None:
        super().__init__(id="row-choice")
        self._text = text
        self._target = target

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-box"):
            yield Static(self._text, id="choice-text")
            kept = paths.kept_words(self._target)
            yield Button(f"Export to {self._target}{kept}  e", id="choice-export", variant="success", compact=True)
            yield Button("Open in the Forecast screen  f", id="choice-forecast", variant="primary", compact=True)
            yield Button("Close  esc", id="choice-close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#choice-export", Button).focus()

    def action_choose(self, what: str | None) -> None:
        self.dismiss(what)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss({"choice-export": "export", "choice-forecast": "forecast"}.get(event.button.id or ""))


def has_model(app: App[Any], row: Row) -> bool:
    """Whether the row's model file is there to offer; if not, a notice says why."""
    if not row.model_path:
        app.notify(
            f"{BASELINE_WORDS.get(row.name, row.name)} is a baseline: it has no model file to "
            "export (only a baseline that beats every variant gets one). Choose a variant row.",
            title="A baseline",
            severity="warning",
        )
        return False
    if not Path(row.model_path).is_file():
        app.notify(
            f"{row.model_path} is gone; run the comparison again (Ctrl+R).",
            title="Model file missing",
            severity="error",
            timeout=10,
        )
        return False
    return True


def row_words(row: Row, protocol: Protocol) -> str:
    """The dialog's text: the row's scores, size and speed, and what its backtest model was trained on."""
    m = row.metrics
    if row.kind == "baseline":
        return (
            f"[b]{escape(row.name)}[/] — a baseline that beats every variant on this backtest\n"
            f"MASE {m['mase']:.3f} ± {m.get('mase_std', 0):.3f}; nothing to train: its model file forecasts "
            "from the last window of any series, with the same inputs and outputs as a network's."
        )
    trained = (
        "at the last origin, on the data before the last fold"
        if protocol.refit
        else f"on the data before the first origin (the last {protocol.folds} × {protocol.horizon} steps unseen)"
    )
    return (
        f"[b]{escape(row.name)}[/] — {escape(row.label)}\nMASE {m['mase']:.3f} ± {m.get('mase_std', 0):.3f}, "
        f"{row.params:,} parameters, {row.latency_ms:.3f} ms per forecast in ONNX Runtime.\n"
        f"This is the backtest model, trained {trained}. To use every row, train it on the Train "
        "screen or tick 'Retrain the best on all data'."
    )


def export_row(app: App[Any], row: Row, target: Path) -> Path | None:
    """Copy the row's model file to target, or to a free name beside it when a file appeared there meanwhile
    (an existing model is never replaced); a notice says where it went or why it could not. Returns the path
    written, or None."""
    target = paths.free_path(target)
    try:
        copy_model(str(row.model_path), target)
    except (OSError, TsrnnError) as exc:
        why = exc.message if isinstance(exc, TsrnnError) else f"cannot write {target}: {exc.strerror or exc}"
        app.notify(why, title="Export failed", severity="error", timeout=10)
        return None
    app.notify(f"Saved {target}{paths.kept_words(target)}; it is listed on the Forecast screen (F4).", title="Exported")
    return target
