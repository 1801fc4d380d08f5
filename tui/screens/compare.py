"""Compare screen: backtest several RNN variants and the baselines on the same folds, rank them, export one."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.markup import escape
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Input,
    Label,
    ProgressBar,
    SelectionList,
    Static,
    TabbedContent,
)
from textual.worker import Worker, WorkerState

from tsrnn import paths
from tsrnn.budget import COMPARE_DEFAULTS, Deadline, format_seconds, parse_optional_budget
from tsrnn.config import DEFAULT_VARIANTS, VARIANT_SPEC, variant_label
from tsrnn.errors import ConfigError, TsrnnError
from tsrnn.extras import needs_extras
from tsrnn.paths import copy_model

from ..text import for_tui, seconds, show_error
from ..widgets.plots import SeriesPlot

if TYPE_CHECKING:
    from tsrnn.compare import CompareProgress, Leaderboard, Row, Variant
    from tsrnn.config import ModelConfig, TrainConfig
    from tsrnn.data import SeriesSet

UPDATE_EVERY_S = 0.12
VARIANT_NAMES = tuple(DEFAULT_VARIANTS.split(","))
BASELINE_WORDS = {
    "naive": "naive (last value)",
    "seasonal_naive": "seasonal naive (last season)",
    "drift": "drift (straight line)",
}


SPEC = VARIANT_SPEC
"""The variant names tsrnn.compare.parse_variants accepts, from the light tsrnn.config: importing
tsrnn.compare loads ONNX Runtime, which the first screen should not wait for."""


def export_path(csv: Path, variant: str) -> Path:
    """Where a chosen row is exported: exports/<csvstem>_<variant>.onnx (the engine's rule)."""
    return paths.export_path(csv.stem, variant)


@dataclass
class Overlay:
    """The last fold of the first series: actual values around the origin and every method's forecast."""

    times: list[Any]
    actual: np.ndarray
    origin: int
    forecasts: dict[str, np.ndarray]
    title: str


@dataclass
class BarState:
    name: str
    done: int = 0
    total: int = 1
    state: str = "waiting"
    """waiting, training, done, skipped."""
    epochs: int = 0


class LeaderboardTable(DataTable[Any]):
    """A row table where one click chooses a row (DataTable needs a second click on the highlighted row)."""

    async def _on_click(self, event: events.Click) -> None:
        # Textual calls this before DataTable's own handler, which moves the cursor and posts RowSelected
        # itself only for a click on the cell under the cursor; announce every other click on a row here.
        row, column = event.style.meta.get("row"), event.style.meta.get("column")
        if not (isinstance(row, int) and 0 <= row < self.row_count):
            return
        if (row, column) != tuple(self.cursor_coordinate):  # DataTable selects only on the highlighted cell
            self.post_message(DataTable.RowSelected(self, row, self.ordered_rows[row].key))


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
            replace = " (replaces the file there)" if self._target.exists() else ""
            yield Button(f"Export to {self._target}{replace}  e", id="choice-export", variant="success", compact=True)
            yield Button("Open in the Forecast screen  f", id="choice-forecast", variant="primary", compact=True)
            yield Button("Close  esc", id="choice-close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#choice-export", Button).focus()

    def action_choose(self, what: str | None) -> None:
        self.dismiss(what)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss({"choice-export": "export", "choice-forecast": "forecast"}.get(event.button.id or ""))


class CompareView(Vertical):
    """Owns the compare worker, its progress bars, the leaderboard and the overlay plot."""

    FOCUS_FIRST = "#cmp-variants"
    """What the app focuses when the tab is shown."""
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+g", "tune", "Tune")]

    class Progress(Message):
        """A full snapshot of every bar, so a newer message may replace an older one."""

        def __init__(
            self,
            bars: list[BarState],
            done: int,
            current: str,
            epoch: Any,
            clock: str = "",
            note: str | None = None,
            final: bool = False,
        ) -> None:
            super().__init__()
            self.bars, self.done, self.current, self.epoch = bars, done, current, epoch
            self.clock, self.note, self.final = clock, note, final

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, CompareView.Progress)

    class Done(Message):
        def __init__(
            self,
            board: Leaderboard | None,
            overlay: Overlay | None,
            error: TsrnnError | None,
            cancelled: bool,
            bars: list[BarState],
            seconds: float,
            clock: str = "",
        ) -> None:
            super().__init__()
            self.board, self.overlay, self.error = board, overlay, error
            self.cancelled, self.bars, self.seconds, self.clock = cancelled, bars, seconds, clock

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
        self._estimate = ""
        self._note: str | None = None

    def compose(self) -> ComposeResult:
        v = self._initial
        chosen = v.get("variants")
        chosen = set(chosen) if isinstance(chosen, list) else set(VARIANT_NAMES)
        with Horizontal(id="cmp-top"):
            with VerticalScroll(id="cmp-left"):
                yield Label("Variants (space toggles)", classes="section -first")
                yield SelectionList[str](
                    *[(f"{n:<7} {variant_label(n)}", n, n in chosen) for n in VARIANT_NAMES], id="cmp-variants"
                )
                yield Label("More variants, e.g. gru-2, birnn", classes="section")
                yield Input(
                    str(v.get("extra", "")), placeholder="[bi]rnn|gru|lstm[-layers]", id="cmp-extra", compact=True
                )
                yield Static("", id="cmp-extra-msg", classes="cmp-msg")
                yield Label("Folds (rolling origins)", classes="section")
                yield Input(str(v.get("folds", "3")), id="cmp-folds", compact=True, select_on_focus=True)
                yield Static("", id="cmp-folds-msg", classes="cmp-msg")
                yield Label("Time budget", classes="section")
                yield Input(
                    str(v.get("budget", COMPARE_DEFAULTS["budget"])),
                    placeholder="e.g. 90s, 10m, 1h; none",
                    id="cmp-budget",
                    compact=True,
                    select_on_focus=True,
                )
                yield Static("", id="cmp-budget-msg", classes="cmp-msg")
                yield Checkbox(
                    "Refit at every origin",
                    value=bool(v.get("refit", False)),
                    id="cmp-refit",
                    compact=True,
                    tooltip="Train each variant again before every fold: folds times slower",
                )
                yield Checkbox(
                    "Retrain the best on all data",
                    value=bool(v.get("export_best", False)),
                    id="cmp-export-best",
                    compact=True,
                    tooltip="After ranking, train the winner once more on every row and export it",
                )
                yield Static("", id="cmp-settings")
                with Horizontal(classes="row", id="cmp-buttons"):
                    yield Button("Compare  ^r", id="cmp-start", variant="primary", compact=True)
                    yield Button("Cancel  ^x", id="cmp-cancel", variant="error", compact=True, disabled=True)
                yield Button(
                    "Tune…  ^g",
                    id="cmp-tune",
                    compact=True,
                    tooltip="Search cells, sizes, windows and training settings (Optuna), in a budget",
                )
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
                yield Vertical(id="cmp-bars")
                yield SeriesPlot(id="cmp-plot")
        yield LeaderboardTable(id="cmp-table", zebra_stripes=True, cursor_type="row")
        yield Static("", id="cmp-note")

    def on_mount(self) -> None:
        self.query_one(SeriesPlot).show_message("the variants' forecasts on the last fold appear here")
        self.query_one("#cmp-overall-text", Label).update("not started")
        self._check_fields()

    # --- the form -------------------------------------------------------------------------------------

    def remembered(self) -> dict[str, Any]:
        return {
            "variants": list(self.query_one("#cmp-variants", SelectionList).selected),
            "extra": self.query_one("#cmp-extra", Input).value,
            "folds": self.query_one("#cmp-folds", Input).value,
            "budget": self.query_one("#cmp-budget", Input).value,
            "refit": self.query_one("#cmp-refit", Checkbox).value,
            "export_best": self.query_one("#cmp-export-best", Checkbox).value,
        }

    @on(Input.Changed, "#cmp-extra, #cmp-folds, #cmp-budget")
    @on(SelectionList.SelectedChanged)
    def _check_fields(self) -> dict[str, str]:
        """Mark a wrong variant list or fold count beside its field; return the problems by field."""
        errors: dict[str, str] = {}
        try:
            self._variant_names()
        except ConfigError as exc:
            errors["variants"] = for_tui(exc.message)
        text = self.query_one("#cmp-folds", Input).value.strip()
        try:
            if int(text) < 1:
                errors["folds"] = "at least 1"
        except ValueError:
            errors["folds"] = f"'{text}' is not a whole number" if text else "type a whole number, e.g. 3"
        extra = self.query_one("#cmp-extra-msg", Static)
        extra.update(escape(errors.get("variants", "")))
        extra.set_class("variants" in errors, "-error")
        folds = self.query_one("#cmp-folds-msg", Static)
        folds.update(escape(errors.get("folds", "")) or "each fold forecasts one horizon")
        folds.set_class("folds" in errors, "-error")
        try:
            seconds = parse_optional_budget(self.query_one("#cmp-budget", Input).value)
        except ConfigError as exc:
            errors["budget"] = exc.message
            seconds = None
        budget = self.query_one("#cmp-budget-msg", Static)
        budget.update(
            escape(errors.get("budget", ""))
            or (f"stops on time after {format_seconds(seconds)}" if seconds else "none: no time limit")
        )
        budget.set_class("budget" in errors, "-error")
        return errors

    def budget(self) -> float | None:
        """The Time budget field in seconds (None: no limit); ConfigError when it is not a duration."""
        try:
            return parse_optional_budget(self.query_one("#cmp-budget", Input).value)
        except ConfigError as exc:
            raise ConfigError(f"Time budget: {exc.message}") from None

    def _variant_names(self) -> list[str]:
        """The ticked and typed variants, each checked; ConfigError says what is wrong."""
        chosen = [n for n in VARIANT_NAMES if n in self.query_one("#cmp-variants", SelectionList).selected]
        extra = self.query_one("#cmp-extra", Input).value
        names = list(
            dict.fromkeys(  # a typed variant that is also ticked counts once
                chosen + [t.strip().lower() for t in re.split(r"[,\s]+", extra) if t.strip()]
            )
        )
        if not names:
            raise ConfigError("no variant chosen: tick at least one in the list")
        for name in names:
            variant_label(name)
        return names

    def options(self) -> tuple[list[Variant], int, bool, bool]:
        """The variants, folds, refit and export-best choices; ConfigError names the first wrong field."""
        errors = self._check_fields()
        if "variants" in errors:
            raise ConfigError(f"Variants: {errors['variants']}")
        if "folds" in errors:
            raise ConfigError(f"Folds: {errors['folds']}")
        if "budget" in errors:
            raise ConfigError(f"Time budget: {errors['budget']}")
        from tsrnn.compare import parse_variants

        return (
            parse_variants(",".join(self._variant_names())),
            int(self.query_one("#cmp-folds", Input).value),
            self.query_one("#cmp-refit", Checkbox).value,
            self.query_one("#cmp-export-best", Checkbox).value,
        )

    def show_settings(
        self, model_cfg: ModelConfig | None, train_cfg: TrainConfig | None, problem: str | None = None
    ) -> None:
        """What the Model screen contributes, so nobody has to switch tabs to check."""
        box = self.query_one("#cmp-settings", Static)
        if problem or model_cfg is None or train_cfg is None:
            box.update(f"[b $error]Not ready:[/] {escape(problem or 'load a CSV on the Data screen (F1)')}")
            return
        q = f", quantiles {','.join(f'{x:g}' for x in model_cfg.quantiles)}" if model_cfg.quantiles else ""
        box.update(
            f"From the Model screen (F2): hidden {model_cfg.hidden_size}, window {model_cfg.input_len} → "
            f"horizon {model_cfg.horizon}{q}, up to {train_cfg.epochs} epochs (patience "
            f"{train_cfg.patience}), batch {train_cfg.batch_size}, lr {train_cfg.lr:g}, seed "
            f"{train_cfg.seed}. Cell, direction and layers come from each variant."
        )

    # --- running --------------------------------------------------------------------------------------

    async def start(
        self,
        data: SeriesSet,
        variants: list[Variant],
        base: ModelConfig,
        train_cfg: TrainConfig,
        folds: int,
        refit: bool,
        export_best: bool,
    ) -> None:
        if self.running:
            self.app.notify("A comparison is already running; cancel it first (Ctrl+X).", severity="warning")
            return
        try:
            budget = self.budget()
        except ConfigError as exc:
            self.app.notify(for_tui(exc.message), title="Cannot compare yet", severity="error", timeout=8)
            return
        deadline = Deadline(budget)  # counts from the key press
        if train_cfg.windows_per_epoch is None:
            from dataclasses import replace

            train_cfg = replace(train_cfg, windows_per_epoch=COMPARE_DEFAULTS["windows_per_epoch"])
        self.running = True
        self._stop.clear()
        self._estimate, self._note = "", None
        self.data_path = data.path
        self.board = None
        per_variant = train_cfg.epochs * (folds if refit else 1)
        bars = [BarState(v.name, 0, per_variant) for v in variants]
        holder = self.query_one("#cmp-bars", Vertical)
        await holder.remove_children()
        await holder.mount_all([self._bar_row(b) for b in bars])
        self._show_bars(bars, 0)
        self.query_one("#cmp-table", DataTable).clear(columns=True)
        self.query_one("#cmp-note", Static).update("")
        self.query_one(SeriesPlot).show_message("the variants' forecasts on the last fold appear here")
        extra = " and retraining the best on all the data" if export_best else ""
        self.query_one("#cmp-status", Static).update(
            f"Comparing {len(variants)} variant{'s' if len(variants) > 1 else ''} on {escape(data.path.name)}: "
            f"{folds} fold{'s' if folds > 1 else ''} × horizon {base.horizon}, "
            f"{'refit at every origin' if refit else 'trained once before the first origin'}{extra} …"
        )
        self._set_buttons()
        self.compare(data, variants, base, train_cfg, folds, refit, export_best, bars, deadline)

    def _bar_row(self, bar: BarState) -> Horizontal:
        return Horizontal(
            Label(bar.name, classes="cmp-bar-name"),
            ProgressBar(total=bar.total, show_eta=False, show_percentage=False, id=f"bar-{bar.name.replace('-', '_')}"),
            Label("waiting", id=f"bartext-{bar.name.replace('-', '_')}", classes="cmp-bar-text"),
            classes="cmp-bar-row",
        )

    def cancel(self) -> None:
        if self.running:
            self._stop.set()
            self.query_one("#cmp-status", Static).update(
                "Cancelling after the current epoch; the variants not started are skipped …"
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def compare(
        self,
        data: SeriesSet,
        variants: list[Variant],
        base: ModelConfig,
        train_cfg: TrainConfig,
        folds: int,
        refit: bool,
        export_best: bool,
        bars: list[BarState],
        deadline: Deadline,
    ) -> None:
        from tsrnn.compare import run_compare

        t0 = time.perf_counter()
        last_post = 0.0
        runs = {"origin": 0}

        def on_progress(p: CompareProgress) -> None:
            nonlocal last_post
            clock = elapsed_words(p.elapsed, p.remaining)
            if p.estimate or p.final:  # the plan, or the best variant's retraining: no bar of its own
                if p.final:
                    for b in bars:
                        if b.state == "training":
                            b.state, b.done = "done", b.total
                now = time.perf_counter()
                if p.estimate or p.epoch is None or now - last_post >= UPDATE_EVERY_S:
                    last_post = now
                    snapshot = [BarState(b.name, b.done, b.total, b.state, b.epochs) for b in bars]
                    note = f"estimate: {p.estimate}" if p.estimate else p.note
                    self.post_message(self.Progress(snapshot, p.index, p.variant, p.epoch, clock, note, p.final))
                return
            bar = bars[p.index]
            if p.epoch is None:  # a variant starts: the previous one is done
                for earlier in bars[: p.index]:
                    if earlier.state == "training":
                        earlier.state, earlier.done = "done", earlier.total
                bar.state = "training"
                runs["origin"] = 0
            else:
                if p.epoch.epoch == 1 and bar.epochs:  # refit: the next origin's training begins
                    runs["origin"] += 1
                bar.epochs += 1
                bar.done = min(bar.total, runs["origin"] * train_cfg.epochs + p.epoch.epoch)
            now = time.perf_counter()
            if p.epoch is None or now - last_post >= UPDATE_EVERY_S:
                last_post = now
                snapshot = [BarState(b.name, b.done, b.total, b.state, b.epochs) for b in bars]
                self.post_message(self.Progress(snapshot, p.index, p.variant, p.epoch, clock, p.note))

        try:
            with needs_extras("Compare"):
                board = run_compare(
                    data,
                    variants,
                    base,
                    train_cfg,
                    folds=folds,
                    refit=refit,
                    on_progress=on_progress,
                    should_stop=self._stop.is_set,
                    export_best=export_best,
                    deadline=deadline,
                )
            overlay = last_fold_overlay(data, board, base, folds)
        except TsrnnError as exc:
            self.post_message(
                self.Done(None, None, exc, self._stop.is_set(), bars, time.perf_counter() - t0, spent_words(deadline))
            )
            return
        cancelled = self._stop.is_set()
        for b in bars:
            if b.state == "training":
                b.state = "stopped" if cancelled else "done"
                b.done = b.done if cancelled else b.total
            elif b.state == "waiting":
                b.state = "skipped"
        self.post_message(
            self.Done(board, overlay, None, self._stop.is_set(), bars, time.perf_counter() - t0, spent_words(deadline))
        )

    @on(Progress)
    def _progress(self, msg: Progress) -> None:
        self._show_bars(msg.bars, sum(b.state == "done" for b in msg.bars), msg.clock)
        if self._stop.is_set():
            return
        if msg.note and msg.note.startswith("estimate: "):
            self._estimate = msg.note[len("estimate: ") :]
        elif msg.note and msg.epoch is None:
            self._note = msg.note  # what this training was given
        where = f"{msg.current} ({msg.done + 1} of {len(msg.bars)})"
        given = f" ({self._note})" if self._note else ""
        if msg.final:
            e = msg.epoch
            text = f"Retraining {msg.current} on all the data{f': epoch {e.epoch}/{e.epochs}' if e else given} …"
        elif msg.epoch is None:
            import sys

            first = "" if "torch" in sys.modules else " (loading PyTorch takes a few seconds the first time)"
            text = f"Training {where}{given}{first} …"
        else:
            e = msg.epoch
            text = (
                f"Training {where}: epoch {e.epoch}/{e.epochs} · train {e.train_loss:.4f} · validation "
                f"{e.val_loss:.4f} · {seconds(e.eta)} left at most for this variant"
            )
        estimate = f"\nEstimate: {self._estimate}" if self._estimate else ""
        self.query_one("#cmp-status", Static).update(escape(text + estimate))

    def _show_bars(self, bars: list[BarState], done: int, clock: str = "") -> None:
        for b in bars:
            key = b.name.replace("-", "_")
            try:
                self.query_one(f"#bar-{key}", ProgressBar).update(total=b.total, progress=b.done)
                text = {
                    "waiting": "waiting",
                    "skipped": "skipped",
                    "done": f"done, {b.epochs} epochs",
                    "stopped": f"cancelled at {b.epochs} epochs",
                }.get(b.state, f"{b.done}/{b.total} epochs")
                self.query_one(f"#bartext-{key}", Label).update(text)
            except NoMatches:  # the rows are being replaced by a newer run
                return
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
        self._show_table(board)
        if self.app.query_one("#tabs", TabbedContent).active == "compare" and not isinstance(self.app.focused, Input):
            self.query_one("#cmp-table", DataTable).focus()  # so that Enter chooses a row at once
        models = [r for r in board.rows if r.kind == "model"]
        if msg.cancelled:
            last = next((b for b in msg.bars if b.state == "stopped"), None)
            status.update(
                f"[b $warning]Cancelled[/] after {seconds(msg.seconds)}: {len(models)} of {len(msg.bars)} "
                f"variants ranked"
                + (f"; {last.name} stopped early and may be undertrained" if last else "")
                + ". Press Ctrl+R to run again."
            )
        else:
            best = f"best: [b]{escape(board.best)}[/] (lowest mean MASE)" if board.best else "no variant ranked"
            if board.baseline_wins:
                best = (
                    f"[b $warning]a baseline wins:[/] {escape(board.verdict)} More epochs, another window or "
                    "more hidden units may change that"
                )
            n = f"{len(models)} variant{'s' if len(models) != 1 else ''}"
            status.update(
                f"[b $success]Done[/] in {seconds(msg.seconds)}: {n} and 3 baselines "
                f"ranked on {board.protocol['folds']} folds; {best}. Enter on a row exports it or opens "
                "it in the Forecast screen."
            )
        if board.best_path:
            exported = next((r for r in board.rows if r.name == board.exported), None)
            if exported is not None and exported.kind == "baseline":
                self.app.notify(
                    f"The best model is the {BASELINE_WORDS.get(exported.name, exported.name)} baseline, "
                    f"no network: {board.best_path}",
                    title="Best exported",
                )
            else:
                self.app.notify(
                    f"The best variant, retrained on all the data, is in {board.best_path}", title="Best exported"
                )
            self.post_message(self.Exported(Path(board.best_path)))
        if msg.overlay is not None:
            o = msg.overlay
            dotted = [r.name for r in board.rows if r.kind == "baseline"]
            self.query_one(SeriesPlot).show_backtest(o.title, o.times, o.actual, o.origin, o.forecasts, dotted)

    def _show_table(self, board: Leaderboard) -> None:
        from rich.text import Text

        from tsrnn.compare import format_rows

        header, rows = format_rows(board)
        table = self.query_one("#cmp-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*header)
        right = {i for i, h in enumerate(header) if h not in ("#", "variant")}
        for r, cells in zip(board.rows, rows, strict=True):
            style = (
                "bold"
                if r.name == board.best
                else "bold $warning"
                if r.name == board.winner and r.kind == "baseline"
                else "italic dim"
                if r.kind == "baseline"
                else ""
            )
            table.add_row(
                *[Text(c, style=style, justify="right" if i in right else "left") for i, c in enumerate(cells)],
                key=r.name,
            )
        best = next((i for i, r in enumerate(board.rows) if r.name == board.best), 0)
        table.move_cursor(row=best)  # Enter at once offers the best variant
        p = board.protocol
        files = board.files.get("md") or board.files.get("csv")
        where = f" Saved in {escape(str(Path(files).parent))}/." if files else ""
        levels = p.get("quantiles") or []
        q = (
            f" Coverage: share of actual values inside the {levels[0]:g}–{levels[-1]:g} interval (aim "
            f"{levels[-1] - levels[0]:.2g}); MSIS: its scaled width and misses."
            if len(levels) > 1
            else ""
        )
        self.query_one("#cmp-note", Static).update(
            f"Mean ± spread over {p['folds']} folds; lower is better; MASE < 1 beats the in-sample seasonal naive; "
            f"* best variant; ! a baseline that beats every variant; baselines in italics.{q} Training "
            f"{escape(str(p['training']))}.{where}"
        )

    # --- choosing a row ---------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#cmp-table")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        if self.board is None or event.row_key.value is None or isinstance(self.app.screen, RowChoice):
            return
        row = next((r for r in self.board.rows if r.name == event.row_key.value), None)
        if row is None:
            return
        if not row.model_path:
            self.app.notify(
                f"{BASELINE_WORDS.get(row.name, row.name)} is a baseline: it has no model file to "
                "export (only a baseline that beats every variant gets one). Choose a variant row.",
                title="A baseline",
                severity="warning",
            )
            return
        if not Path(row.model_path).is_file():
            self.app.notify(
                f"{row.model_path} is gone; run the comparison again (Ctrl+R).",
                title="Model file missing",
                severity="error",
                timeout=10,
            )
            return
        assert self.data_path is not None
        target = export_path(self.data_path, row.name)
        m = row.metrics
        p = self.board.protocol
        trained = (
            "at the last origin, on the data before the last fold"
            if p.get("refit")
            else f"on the data before the first origin (the last {p['folds']} × {p['horizon']} steps unseen)"
        )
        text = (
            f"[b]{escape(row.name)}[/] — {escape(row.label)}\nMASE {m['mase']:.3f} ± {m.get('mase_std', 0):.3f}, "
            f"{row.params:,} parameters, {row.latency_ms:.3f} ms per forecast in ONNX Runtime.\n"
            f"This is the backtest model, trained {trained}. To use every row, train it on the Train "
            "screen or tick 'Retrain the best on all data'."
        )
        if row.kind == "baseline":
            text = (
                f"[b]{escape(row.name)}[/] — a baseline that beats every variant on this backtest\n"
                f"MASE {m['mase']:.3f} ± {m.get('mase_std', 0):.3f}; nothing to train: its model file forecasts "
                "from the last window of any series, with the same inputs and outputs as a network's."
            )
        self.app.push_screen(RowChoice(text, target), lambda choice: self._do(choice, row, target))

    def _do(self, choice: str | None, row: Row, target: Path) -> None:
        if choice == "export":
            try:
                copy_model(str(row.model_path), target)
            except (OSError, TsrnnError) as exc:
                why = exc.message if isinstance(exc, TsrnnError) else f"cannot write {target}: {exc.strerror or exc}"
                self.app.notify(why, title="Export failed", severity="error", timeout=10)
                return
            self.app.notify(f"Saved {target}; it is listed on the Forecast screen (F4).", title="Exported")
            self.post_message(self.Exported(target))
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
        from .tune import open_tune

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


def elapsed_words(elapsed: float, remaining: float | None) -> str:
    """'1 min 10 s elapsed, 3 min 50 s left' ('12 s elapsed' without a budget)."""
    left = "" if remaining is None else f", {format_seconds(remaining)} left"
    return f"{format_seconds(elapsed)} elapsed{left}"


def spent_words(deadline: Deadline) -> str:
    """'4 min 52 s of a 5 min budget' ('1 min 10 s, no budget')."""
    if deadline.seconds is None:
        return f"{format_seconds(deadline.elapsed())}, no budget"
    return f"{format_seconds(deadline.elapsed())} of a {format_seconds(deadline.seconds)} budget"


def last_fold_overlay(data: SeriesSet, board: Leaderboard, base: ModelConfig, folds: int) -> Overlay | None:
    """Forecasts of every ranked method for the first series' last fold, beside the actual values."""
    from tsrnn.backtest import baseline_forecasts, make_folds
    from tsrnn.inference import Forecaster

    L, H = base.input_len, base.horizon
    f = make_folds(data, L, H, folds)
    first = f.fold_slice(f.folds - 1).start
    history = f.history[first : first + 1]
    known = None if f.known is None else f.known[first : first + 1]
    baselines = baseline_forecasts(f, int(board.protocol["season"]))
    best_baseline = next((r.name for r in board.rows if r.kind == "baseline"), None)
    forecasts: dict[str, np.ndarray] = {}
    for r in board.rows:  # in rank order; only the best baseline, or ten lines hide each other
        if r.kind == "model" and r.model_path:
            forecasts[r.name] = Forecaster.load(r.model_path).predict(history, known)[0, :, 0]
        elif r.name == best_baseline and r.name in baselines:
            forecasts[r.name] = baselines[r.name][first, :, 0]
    if not forecasts:
        return None
    show = min(len(data.values[0]), H + max(H, 6))  # as much context before the origin as the fold is long
    which = f" — series '{data.ids[0]}' (1 of {data.n_series})" if data.id_col else ""
    return Overlay(
        list(data.times[0][-show:]),
        data.values[0][-show:, 0],
        show - H - 1,
        forecasts,
        f"{data.targets[0]}: the last fold's actual values and forecasts (best baseline dotted){which}",
    )
