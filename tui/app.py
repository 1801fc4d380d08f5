"""The tsrnn terminal app: six tabs over one session (data -> model -> train -> export -> forecast; compare)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, TabbedContent, TabPane

from tsrnn.config import DataConfig
from tsrnn.errors import ConfigError

from .keys import GLOBAL_KEYS
from .screens.compare import CompareView
from .screens.data import DataView
from .screens.forecast import ForecastView
from .screens.help import HelpView
from .screens.model import ModelView
from .screens.train import TrainView
from .settings import Settings, SettingsStore, default_config_dir
from .text import for_tui

if TYPE_CHECKING:
    from tsrnn.data import SeriesSet


class TsrnnApp(App[None]):
    """Holds the session (loaded data, trained experiment) and routes global keys to the screens."""

    CSS_PATH = "app.tcss"
    TITLE = "tsrnn"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.keys, k.action, k.label, priority=k.priority, show=k.show, id=k.action) for k in GLOBAL_KEYS
    ]

    def __init__(
        self, data_path: str | None = None, model_path: str | None = None, config_dir: Path | None = None
    ) -> None:
        super().__init__()
        self.store = SettingsStore(config_dir or default_config_dir())
        self.settings: Settings = self.store.load()
        self._data_path = data_path
        self._model_path = model_path
        self.data: SeriesSet | None = None

    def compose(self) -> ComposeResult:
        start = self._data_path or self.settings.data.get("path")
        folder = Path(start).expanduser().parent if start and Path(start).expanduser().parent.is_dir() else Path(".")
        forecast = dict(self.settings.forecast)
        if self._model_path:
            forecast["model"] = self._model_path
        with TabbedContent(initial="data", id="tabs"):
            with TabPane("Data F1", id="data"):
                yield DataView(folder, id="data-view")
            with TabPane("Model F2", id="model"):
                yield ModelView(self.settings.model, id="model-view")
            with TabPane("Train F3", id="train"):
                yield TrainView(id="train-view")
            with TabPane("Forecast F4", id="forecast"):
                yield ForecastView(forecast, id="forecast-view")
            with TabPane("Help F5", id="help"):
                yield HelpView(id="help-view")
            with TabPane("Compare F6", id="compare"):
                yield CompareView(self.settings.compare, id="compare-view")
        yield Footer()

    def on_mount(self) -> None:
        if self.store.warning:
            self.notify(self.store.warning, title="Settings ignored", severity="warning", timeout=10)
        path = self._data_path or self.settings.data.get("path")
        if path:
            self.query_one(DataView).open_path(path, self._remembered_columns(str(path)))
        else:
            self.query_one("#data-path", Input).focus()
        if self._model_path:
            self.action_show_tab("forecast")
        self._show_compare_settings()

    def _remembered_columns(self, path: str) -> DataConfig | None:
        d = self.settings.data
        if d.get("path") != path:
            return None
        return DataConfig(
            time_col=d.get("time_col"),
            id_col=d.get("id_col"),
            targets=tuple(d.get("targets") or ()),
            features=tuple(d.get("features") or ()),
        )

    # --- session ---------------------------------------------------------------------------------------

    def on_data_view_loaded(self, msg: DataView.Loaded) -> None:
        self.data = msg.data
        try:
            self.query_one(ModelView).set_data(msg.data)
            self.query_one(ForecastView).set_csv(msg.data.path)
            self._show_compare_settings()
        except NoMatches:
            return  # the app is closing and its widgets are gone
        self.save_settings()

    def on_train_view_start_requested(self) -> None:
        self.action_train()

    def on_train_view_exported(self, msg: TrainView.Exported) -> None:
        if msg.result is not None:
            self.query_one(ForecastView).refresh_models(select=msg.result.path)
        self.save_settings()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "forecast":
            self.query_one(ForecastView).refresh_models()
        if event.pane.id == "compare":
            self._show_compare_settings()
        self.refresh_bindings()

    def save_settings(self) -> None:
        if not self.query(ForecastView):
            return  # closing: the widgets holding the settings are gone
        self.settings.data = self.query_one(DataView).remembered()
        self.settings.model = self.query_one(ModelView).texts()
        self.settings.forecast = self.query_one(ForecastView).remembered()
        self.settings.compare = self.query_one(CompareView).remembered()
        problem = self.store.save(self.settings)
        if problem:
            self.notify(problem, title="Settings not saved", severity="warning")

    # --- actions ---------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides the key and lets it fall through to a focused Input (ctrl+x cut, ctrl+e end).
        try:
            train = self.query_one(TrainView)
        except NoMatches:
            return True  # not composed yet
        compare = self.query_one(CompareView)
        if isinstance(self.screen, ModalScreen) and action not in ("quit", "cancel"):
            return False  # the row dialog on the Compare screen is open
        if action == "cancel":
            return train.training or compare.running
        if action == "compare":
            return None if compare.running else True
        if action == "export":
            return train.experiment is not None and not train.training and not train.exporting
        if action == "save":
            return self.query_one(ForecastView).result is not None
        if action == "train":
            return None if train.training else True
        return True

    def action_show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.active != tab:
            # A focused widget left in a hidden pane would switch the tabs back when it is refocused.
            self.set_focus(None)
            tabs.active = tab
            self.call_after_refresh(self._focus_in, tab)

    def _focus_in(self, tab: str) -> None:
        """Move focus into the shown pane; a focused widget left in a hidden pane would switch back to it."""
        if self.query_one(TabbedContent).active != tab:
            return  # another key switched again in the meantime
        pane = self.query_one(f"#{tab}", TabPane)
        first_of: dict[str, str] = {
            "data": DataView.FOCUS_FIRST,
            "forecast": ForecastView.FOCUS_FIRST,
            "compare": CompareView.FOCUS_FIRST,
        }
        preferred = [pane.query_one(first_of[tab])] if tab in first_of else []
        first = (
            preferred[0]
            if preferred
            else next((w for w in pane.query("*") if w.focusable and not isinstance(w, ScrollableContainer)), None)
        )
        if first is not None:
            first.focus()
        else:
            self.query_one(TabbedContent).query_one("ContentTabs").focus()

    def action_open(self) -> None:
        self.action_show_tab("data")
        box = self.query_one("#data-path", Input)
        box.focus()
        box.select_all()

    def action_train(self) -> None:
        train = self.query_one(TrainView)
        if train.training:
            return
        if self.query_one(CompareView).running:
            self.notify(
                "A comparison is running: cancel it (Ctrl+X) or wait for it before training.",
                title="Busy",
                severity="warning",
            )
            return
        try:
            data, model_cfg, train_cfg = self.query_one(ModelView).prepared()
        except ConfigError as exc:
            self.notify(for_tui(exc.message), title="Cannot train yet", severity="error", timeout=8)
            self.action_show_tab("data" if self.data is None else "model")
            return
        self.action_show_tab("train")
        self.save_settings()
        train.start(data, model_cfg, train_cfg)

    def action_cancel(self) -> None:
        self.query_one(TrainView).cancel()
        self.query_one(CompareView).cancel()

    async def action_compare(self) -> None:
        compare = self.query_one(CompareView)
        if compare.running:
            return
        self.action_show_tab("compare")
        if self.query_one(TrainView).training:
            self.notify(
                "Training is running: cancel it (Ctrl+X) or wait for it before comparing.",
                title="Busy",
                severity="warning",
            )
            return
        try:
            variants, folds, refit, export_best = compare.options()
            data, model_cfg, train_cfg = self.query_one(ModelView).prepared()
        except ConfigError as exc:
            self.notify(for_tui(exc.message), title="Cannot compare yet", severity="error", timeout=8)
            self._show_compare_settings()
            return
        self.save_settings()
        base = replace(model_cfg, num_layers=1, bidirectional=False)
        await compare.start(data, variants, base, train_cfg, folds, refit, export_best)

    def _show_compare_settings(self) -> None:
        try:
            model, compare = self.query_one(ModelView), self.query_one(CompareView)
        except NoMatches:
            return  # a late message while the app closes: its widgets are gone
        try:
            model_cfg, train_cfg = model.configs()
        except ConfigError as exc:
            compare.show_settings(None, None, for_tui(exc.message))
        else:
            compare.show_settings(model_cfg, train_cfg)

    async def on_compare_view_start_requested(self) -> None:
        await self.action_compare()

    def on_model_view_checked(self) -> None:
        self._show_compare_settings()

    def on_compare_view_exported(self, msg: CompareView.Exported) -> None:
        self.query_one(ForecastView).refresh_models(select=msg.path)

    def on_compare_view_open_in_forecast(self, msg: CompareView.OpenInForecast) -> None:
        forecast = self.query_one(ForecastView)
        forecast.refresh_models(select=Path(msg.path))
        self.action_show_tab("forecast")
        forecast.run_forecast()

    def action_export(self) -> None:
        self.action_show_tab("train")
        self.query_one(TrainView).export()

    def action_forecast(self) -> None:
        self.action_show_tab("forecast")
        self.query_one(ForecastView).run_forecast()

    def action_save(self) -> None:
        self.action_show_tab("forecast")
        self.query_one(ForecastView).save()
        self.save_settings()

    async def action_quit(self) -> None:
        self.query_one(TrainView).cancel()
        self.query_one(CompareView).cancel()
        self.save_settings()
        self.exit()


def make_app(data_path: str | None = None, model_path: str | None = None, config_dir: Path | None = None) -> App[None]:
    """The app the CLI runs and the tests drive; config_dir overrides where tui.json lives."""
    return TsrnnApp(data_path, model_path, config_dir)


def run_tui(data_path: str | None = None, model_path: str | None = None) -> None:
    make_app(data_path, model_path).run()
