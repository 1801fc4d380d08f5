"""The Compare screen's left column: which variants, how many folds, the time budget and the run's options, each
field checked as it is typed, and what the Model screen contributes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.widgets import Button, Checkbox, Input, Label, SelectionList, Static

from tsrnn.core.budget import COMPARE_DEFAULTS, format_seconds, parse_optional_budget
from tsrnn.core.config import DEFAULT_VARIANTS, variant_label
from tsrnn.core.errors import ConfigError

from ..text import for_tui

if TYPE_CHECKING:
    from tsrnn.compare.run import Variant
    from tsrnn.core.config import ModelConfig, TrainConfig

VARIANT_NAMES = tuple(DEFAULT_VARIANTS.split(","))
"""The ticked list's variants, from the light tsrnn.core.config: importing tsrnn.compare.run loads ONNX Runtime, which
the first screen should not wait for (it is imported when a run reads the fields)."""


class CompareForm(VerticalScroll):
    """The fields and the Compare, Cancel and Tune buttons; `options()` reads them for a run."""

    def __init__(self, values: dict[str, Any], id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = values

    def compose(self) -> ComposeResult:
        v = self._initial
        chosen = v.get("variants")
        chosen = set(chosen) if isinstance(chosen, list) else set(VARIANT_NAMES)
        yield Label("Variants (space toggles)", classes="section -first")
        yield SelectionList[str](
            *[(f"{n:<7} {variant_label(n)}", n, n in chosen) for n in VARIANT_NAMES], id="cmp-variants"
        )
        yield Label("More variants, e.g. gru-2, birnn", classes="section")
        yield Input(str(v.get("extra", "")), placeholder="[bi]rnn|gru|lstm[-layers]", id="cmp-extra", compact=True)
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

    def on_mount(self) -> None:
        self.check()

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
    def check(self) -> dict[str, str]:
        """Mark a wrong variant list or fold count beside its field; return the problems by field."""
        errors: dict[str, str] = {}
        try:
            self.variant_names()
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

    def variant_names(self) -> list[str]:
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
        errors = self.check()
        if "variants" in errors:
            raise ConfigError(f"Variants: {errors['variants']}")
        if "folds" in errors:
            raise ConfigError(f"Folds: {errors['folds']}")
        if "budget" in errors:
            raise ConfigError(f"Time budget: {errors['budget']}")
        from tsrnn.compare.run import parse_variants

        return (
            parse_variants(",".join(self.variant_names())),
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
