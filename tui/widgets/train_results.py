"""The Train screen's results column: the test metrics of the trained model and its baselines, the export report,
and the INT8 copy's drift from the float model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widgets import DataTable, Label, Static

from ..text import show_error

if TYPE_CHECKING:
    from tsrnn.core.errors import TsrnnError
    from tsrnn.experiment.pipeline import Experiment
    from tsrnn.export.exporter import ExportResult
    from tsrnn.export.quantize import Drift

METHOD_NAMES = {"model": "model", "naive": "naive", "seasonal_naive": "seasonal naive", "drift": "drift"}
INT8_PENDING = "Writing the INT8 copy and comparing it with the float model on the training CSV …"


class TrainResults(VerticalScroll):
    """Scrolls when the INT8 report is long."""

    DEFAULT_CSS = """
    TrainResults #int8-result { height: auto; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Label("Test metrics (last horizon steps; lower is better)", classes="section")
        yield DataTable(id="metrics", cursor_type="row")
        yield Static("MASE < 1 beats the seasonal-naive forecast's in-sample error.", id="metrics-note")
        yield Static("", id="export-result")
        yield Static("", id="int8-result")

    def clear(self) -> None:
        """A new training run: nothing measured or exported yet."""
        self.query_one("#metrics", DataTable).clear(columns=True)
        self.query_one("#export-result", Static).update("")
        self.query_one("#int8-result", Static).update("")

    def show_metrics(self, exp: Experiment) -> None:
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

    def show_exporting(self, path: str) -> None:
        self.query_one("#export-result", Static).update(f"Exporting to {escape(path)} …")
        self.query_one("#int8-result", Static).update("")

    def show_export_error(self, error: TsrnnError) -> None:
        show_error(self.query_one("#export-result", Static), error.title, error.message)

    def show_exported(self, r: ExportResult, int8_pending: bool) -> None:
        self.query_one("#export-result", Static).update(
            f"[b $success]Exported[/] {escape(str(r.path))} ({r.size_bytes / 1024:.0f} KiB)\n"
            f"ONNX Runtime vs PyTorch: max abs error {r.max_abs_error:.2e}, relative {r.max_rel_error:.2e} "
            f"(batches {', '.join(str(b) for b in r.batches)})\nForecast with it on the Forecast screen (F4)."
        )
        self.app.notify(f"Saved {r.path}", title="Exported")
        if int8_pending:
            self.query_one("#int8-result", Static).update(INT8_PENDING)

    # --- the INT8 copy ------------------------------------------------------------------------------

    def show_int8_error(self, title: str, message: str, float_path: Path) -> None:
        show_error(self.query_one("#int8-result", Static), title, f"{message}; the float model {float_path} is kept")

    def show_drift(self, d: Drift, note: str | None) -> None:
        """The INT8 copy's sizes, quantized ops and metrics beside the float model's (warnings stand out), and a
        notification saying whether to use it."""
        from tsrnn.export.quantize import format_drift

        out = self.query_one("#int8-result", Static)
        lines = [
            f"[b $warning]{escape(line)}[/]" if line.startswith("warning:") else escape(line)
            for line in format_drift(d).splitlines()
        ]
        if note:
            lines.append(f"[$text-muted]{escape(note)}[/]")
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

    def int8_interrupted(self) -> None:
        """The export worker died: an INT8 copy still being written will not come."""
        int8 = self.query_one("#int8-result", Static)
        if str(int8.render()).startswith("Writing the INT8 copy"):
            int8.update(
                "[b $error]INT8 copy failed[/]: an unexpected error (see the status line above); "
                "the float model is kept."
            )


def _num(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.4e}"
