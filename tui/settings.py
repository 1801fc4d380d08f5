"""The last session's choices, kept in a small JSON file in the user's config dir (no Textual here)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsrnn.core.config import DataConfig
from tsrnn.core.errors import TsrnnError
from tsrnn.core.safeio import atomic_write

FILE_NAME = "tui.json"


def default_config_dir() -> Path:
    """$XDG_CONFIG_HOME/tsrnn, or ~/.config/tsrnn."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tsrnn"


@dataclass
class Settings:
    """What is remembered between sessions; every value is plain JSON."""

    data: dict[str, Any] = field(default_factory=dict)
    """Last CSV: path, time_col, id_col, targets, features."""
    model: dict[str, str] = field(default_factory=dict)
    """Model and training fields as typed (field id -> text)."""
    forecast: dict[str, str] = field(default_factory=dict)
    """Last model file, forecast CSV, provider and output path."""
    compare: dict[str, Any] = field(default_factory=dict)
    """Compare screen: ticked variants, extra variants, folds, refit, export-best."""


def remembered_columns(settings: Settings, path: str) -> DataConfig | None:
    """The columns chosen last time, when `path` is the file they were chosen for."""
    d = settings.data
    if d.get("path") != path:
        return None
    return DataConfig(
        time_col=d.get("time_col"),
        id_col=d.get("id_col"),
        targets=tuple(d.get("targets") or ()),
        features=tuple(d.get("features") or ()),
    )


@dataclass
class SettingsStore:
    """Loads and saves Settings; a corrupt file is reported, never fatal."""

    directory: Path
    warning: str | None = None

    @property
    def path(self) -> Path:
        return self.directory / FILE_NAME

    def load(self) -> Settings:
        if not self.path.exists():
            return Settings()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            return Settings(
                data=_dict(raw.get("data")),
                model=_dict(raw.get("model")),
                forecast=_dict(raw.get("forecast")),
                compare=_dict(raw.get("compare")),
            )
        except (OSError, ValueError) as exc:
            self.warning = f"{self.path}: could not read the saved settings ({exc}); starting with defaults"
            return Settings()

    def save(self, settings: Settings) -> str | None:
        """Write atomically; return an error message instead of raising."""
        text = json.dumps(
            {
                "data": settings.data,
                "model": settings.model,
                "forecast": settings.forecast,
                "compare": settings.compare,
            },
            indent=2,
        )
        try:
            atomic_write(self.path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
        except OSError as exc:
            return f"could not save settings to {self.path}: {exc.strerror or exc}"
        except TsrnnError as exc:
            return f"could not save settings: {exc.message}"
        return None


def _dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, got {type(value).__name__}")
    return value
