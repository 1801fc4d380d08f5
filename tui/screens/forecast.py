"""Forecast screen: pick an exported .onnx and a CSV, run ONNX Runtime, plot, tabulate and save."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from tsrnn.core.errors import TsrnnError
from tsrnn.core.paths import EXPORT_DIR
from tsrnn.modelfile.artifact import ModelMeta, quantile_column

from ..text import show_error
from ..widgets.plots import SeriesPlot

if TYPE_CHECKING:
    from tsrnn.runtime.forecastio import ForecastResult

PROVIDERS = (("auto (CUDA if available)", "auto"), ("CPU", "cpu"), ("CUDA", "cuda"))
MAX_TABLE_ROWS = 1000
MAX_WARNINGS = 5
"""History warnings shown under the result (the trailing rows dropped, interpolated steps in the last window)."""


def list_models(folder: Path = EXPORT_DIR) -> list[Path]:
    """The .onnx files in exports/ and in its compare and tune folders (their best models, not the backtest
    models under models/), newest first."""
    if not folder.is_dir():
        return []
    found = [*folder.glob("*.onnx"), *folder.glob("*/*.onnx")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


class ForecastView(Horizontal):
    """Owns the forecast worker and the last result."""

    FOCUS_FIRST = "#fc-models"
    """What the app focuses when the tab is shown (Inputs and lists are skipped otherwise: they scroll)."""

    class Done(Message):
        def __init__(
            self,
            result: ForecastResult | None,
            meta: ModelMeta | None,
            error: TsrnnError | None,
            fallback: str | None = None,
        ) -> None:
            super().__init__()
            self.result, self.meta, self.error, self.fallback = result, meta, error, fallback

    def __init__(self, values: dict[str, str], id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = values
        self.result: ForecastResult | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        v = self._initial
        with Vertical(id="fc-left"):
            yield Label("Exported models (exports/, newest first)", classes="section")
            yield OptionList(id="fc-models")
            yield Label("Model file (.onnx)", classes="section")
            yield Input(v.get("model", ""), placeholder="exports/model.onnx", id="fc-model", compact=True)
            yield Label("CSV with the recent history", classes="section")
            yield Input(v.get("csv", ""), placeholder="the data file on the Data screen", id="fc-csv", compact=True)
            yield Label("Future values CSV (models with future columns)", classes="section")
            yield Input(
                v.get("future", ""), placeholder="blank: the rows after the history", id="fc-future", compact=True
            )
            yield Label("Provider", classes="section")
            provider = v.get("provider", "auto")
            yield Select(
                PROVIDERS,
                value=provider if provider in ("auto", "cpu", "cuda") else "auto",
                allow_blank=False,
                id="fc-provider",
                compact=True,
            )
            yield Button("Forecast  ^f", id="fc-run", variant="primary", compact=True)
            yield Label("Save the forecast to", classes="section")
            yield Input(v.get("out", "forecast.csv"), placeholder="forecast.csv", id="fc-out", compact=True)
            yield Button("Save CSV  ^s", id="fc-save", variant="success", compact=True, disabled=True)
        with Vertical(id="fc-right"):
            yield Static("Pick a model and a CSV, then press Ctrl+F or Forecast.", id="fc-status")
            yield SeriesPlot(id="fc-plot")
            yield DataTable(id="fc-table", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        self.refresh_models()
        self.query_one(SeriesPlot).show_message("history and forecast appear here")

    def refresh_models(self, select: Path | None = None) -> None:
        models = list_models()
        box = self.query_one("#fc-models", OptionList)
        box.clear_options()
        if not models:
            box.add_option(Option("(none yet: train and export on the Train screen)", id="", disabled=True))
        for p in models:
            box.add_option(Option(p.name if p.parent == EXPORT_DIR else f"{p.parent.name}/{p.name}", id=str(p)))
        if models:
            box.highlighted = 0  # the newest: Enter in the list picks it
        if select is not None:
            self.query_one("#fc-model", Input).value = str(select)

    def set_csv(self, path: Path) -> None:
        """Follow the Data screen's file unless another was typed."""
        box = self.query_one("#fc-csv", Input)
        if not box.value.strip() or box.value == getattr(self, "_auto_csv", None):
            box.value = str(path)
            self._auto_csv = str(path)

    @on(OptionList.OptionSelected, "#fc-models")
    def _model_picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.query_one("#fc-model", Input).value = event.option.id

    # --- forecasting --------------------------------------------------------------------------------

    @on(Button.Pressed, "#fc-run")
    @on(Input.Submitted, "#fc-model, #fc-csv, #fc-future")
    def run_forecast(self) -> None:
        model = self.query_one("#fc-model", Input).value.strip()
        csv = self.query_one("#fc-csv", Input).value.strip()
        if not model:
            self._error("No model chosen", "pick an exported model in the list or type the path of a .onnx file")
            return
        if not csv:
            self._error("No CSV chosen", "type the path of a CSV with the model's columns")
            return
        if self.running:
            return
        self.running = True
        provider = str(self.query_one("#fc-provider", Select).value)
        future = self.query_one("#fc-future", Input).value.strip() or None
        self.query_one("#fc-status", Static).update(f"Forecasting with {escape(Path(model).name)} …")
        self.forecast(model, csv, provider, future)

    @work(thread=True, exclusive=True, exit_on_error=False, group="forecast")
    def forecast(self, model: str, csv: str, provider: str, future: str | None = None) -> None:
        from tsrnn.runtime.forecastio import forecast_file
        from tsrnn.runtime.inference import Forecaster

        try:
            fc = Forecaster.load(model, device=provider)
            result = forecast_file(fc, csv, future_csv=future)
        except TsrnnError as exc:
            self.post_message(self.Done(None, None, exc))
        else:
            self.post_message(self.Done(result, fc.meta, None, fc.fallback))

    @on(Done)
    def _done(self, msg: Done) -> None:
        self.running = False
        if msg.error is not None:
            self._error(msg.error.title, msg.error.message)
            return
        r, meta = msg.result, msg.meta
        assert r is not None and meta is not None
        self.result = r
        self.query_one("#fc-save", Button).disabled = False
        self.app.refresh_bindings()
        bi = "bidirectional " if meta.bidirectional else ""
        if meta.task == "direction":
            output = "probability of a rise at the next step"
        elif meta.quantiles:
            output = f"horizon {meta.horizon}, quantiles {', '.join(f'{q:g}' for q in meta.quantiles)}"
        else:
            output = f"horizon {meta.horizon}"
        note = f"\n[b $warning]Note:[/] {escape(msg.fallback)}" if msg.fallback else ""
        for w in r.warnings[:MAX_WARNINGS]:
            note += f"\n[b $warning]Warning:[/] {escape(w.message)}"
        if len(r.warnings) > MAX_WARNINGS:
            note += f"\n[b $warning]Warning:[/] … and {len(r.warnings) - MAX_WARNINGS} more series"
        if msg.fallback:
            self.app.notify(msg.fallback, title="Running on the CPU", severity="warning")
        self.query_one("#fc-status", Static).update(
            f"[b $success]Ran on {r.provider}[/] in {r.latency_ms:.2f} ms for {r.n_series} series · model: "
            f"{f'{bi}{meta.cell_name} {meta.num_layers}×{meta.hidden_size}' if meta.is_network else meta.describe()}, "
            f"window {meta.input_len} → {output}, trained on {escape(meta.train_file or '?')}{note}"
        )
        self._show_plot(r, meta)
        self._show_table(r)

    def _show_plot(self, r: ForecastResult, meta: ModelMeta) -> None:
        h = r.history
        keep = max(3 * meta.input_len, 2 * meta.horizon)
        times = h.times[0][-keep:]
        horizon = meta.horizon
        targets = list(meta.targets)[:4]
        first = r.table.head(horizon)
        which = f" — series '{h.ids[0]}' (1 of {h.n_series})" if h.id_col else ""
        plot = self.query_one(SeriesPlot)
        if meta.task == "direction":
            column = meta.output_columns()[0]
            p = float(first[column][0])
            when = first[h.time_col][0]
            plot.show_probability(
                f"chance that {targets[0]} rises at {when}: {p:.0%}{which}", ["fall", "rise"], [1 - p, p]
            )
            return
        levels = list(meta.quantiles)
        if levels:
            t = targets[0]
            names = [quantile_column(t, q) for q in levels]
            middle = min(range(len(levels)), key=lambda i: abs(levels[i] - 0.5))
            show = [0, middle, len(levels) - 1] if len(levels) > 2 else [0, len(levels) - 1]
            lines = {names[i]: first[names[i]].to_numpy() for i in dict.fromkeys(show)}
            more = f" (first of {len(meta.targets)} targets)" if len(meta.targets) > 1 else ""
            plot.show_band(
                f"{t}{more}: interval {levels[0]:g}–{levels[-1]:g} and median{which}",
                times,
                t,
                h.values[0][-keep:, h.channels.index(t)],
                first[h.time_col].to_list(),
                lines,
            )
            return
        series = {t: h.values[0][-keep:, h.channels.index(t)] for t in targets}
        forecast = {t: first[t].to_numpy() for t in targets}
        plot.show_series(f"recent history and forecast{which}", times, series, forecast, first[h.time_col].to_list())

    def _show_table(self, r: ForecastResult) -> None:
        table = self.query_one("#fc-table", DataTable)
        table.clear(columns=True)
        rows = [
            [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row] for row in r.table.head(MAX_TABLE_ROWS).rows()
        ]
        # Explicit widths: the automatic ones were sometimes left at the header's width ("1961" for a date)
        # when the table filled while the tab was being switched.
        for i, name in enumerate(r.table.columns):
            table.add_column(name, width=max([len(name), *(len(row[i]) for row in rows)]))
        for row in rows:
            table.add_row(*row)

    def _error(self, title: str, text: str) -> None:
        show_error(self.query_one("#fc-status", Static), title, text)

    # --- saving ---------------------------------------------------------------------------------------

    @on(Button.Pressed, "#fc-save")
    @on(Input.Submitted, "#fc-out")
    def save(self) -> None:
        if self.result is None:
            self._error("Nothing to save", "run a forecast first (Ctrl+F)")
            return
        from tsrnn.runtime.forecastio import save_table

        out = self.query_one("#fc-out", Input).value.strip()
        if not out:
            self._error("No output path", "type where to save the forecast, e.g. forecast.csv")
            return
        try:
            path = save_table(self.result.table, out, time_col=self.result.history.time_col)
        except TsrnnError as exc:
            self._error(exc.title, exc.message)
            return
        self.app.notify(f"Saved {len(self.result.table)} rows to {path}", title="Forecast saved")

    def remembered(self) -> dict[str, str]:
        return {
            "model": self.query_one("#fc-model", Input).value,
            "csv": self.query_one("#fc-csv", Input).value,
            "future": self.query_one("#fc-future", Input).value,
            "provider": str(self.query_one("#fc-provider", Select).value),
            "out": self.query_one("#fc-out", Input).value,
        }

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "forecast" and event.state == WorkerState.ERROR:
            self.running = False
            self._error("Unexpected error", repr(event.worker.error))
