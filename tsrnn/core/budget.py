"""Time budgets: `--budget 10m` (also 90s, 1h, 1h30m) parsed once, and a deadline that training loops ask.

No torch here: the CLI and the TUI parse and show budgets without importing the training code.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from tsrnn.core.errors import ConfigError

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|min|m|sec|s)?", re.IGNORECASE)
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0, "sec": 1.0, None: 1.0}


def parse_budget(text: str | float | int) -> float:
    """Seconds in a budget such as '90s', '10m', '1h', '1h30m' or a bare number of seconds ('600')."""
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        raw = text.strip().lower().replace(" ", "")
        pos, seconds, parts = 0, 0.0, 0
        while pos < len(raw):
            m = _PART.match(raw, pos)
            if not m or m.end() == pos:
                raise ConfigError(f"budget '{text}' is not a duration: write it as 90s, 10m, 1h or 1h30m")
            unit = m.group(2)
            if unit is None and (m.end() != len(raw) or pos > 0):
                raise ConfigError(f"budget '{text}' is not a duration: write it as 90s, 10m, 1h or 1h30m")
            seconds += float(m.group(1)) * _UNIT_SECONDS[unit]
            pos, parts = m.end(), parts + 1
        if parts == 0:
            raise ConfigError("budget is empty: write it as 90s, 10m, 1h or 1h30m")
    if not seconds > 0 or seconds != seconds:
        raise ConfigError(f"budget '{text}' must be more than 0 seconds: write it as 90s, 10m, 1h or 1h30m")
    return seconds


COMPARE_DEFAULTS: dict[str, Any] = {"budget": "5m", "windows_per_epoch": 2048, "patience": 10}
"""What `tsrnn compare` (and the TUI's Compare screen) runs with when not told otherwise, so that the seven default
variants on a file of a few thousand rows finish in minutes on 2 cores: a time budget; at most this many training
windows per epoch (a new random sample each epoch, on files with more); early stopping after 10 epochs without
gain (the CLI; the TUI takes patience from its Model screen)."""
NO_BUDGET = ("none", "off", "no", "unlimited")
"""Words that lift a budget (`--budget none`)."""


def parse_optional_budget(text: str | float | int | None) -> float | None:
    """parse_budget, or None for no budget: None, '' or one of NO_BUDGET."""
    if text is None or (isinstance(text, str) and text.strip().lower() in ("", *NO_BUDGET)):
        return None
    return parse_budget(text)


def format_seconds(seconds: float) -> str:
    """'45 s', '3 min 20 s', '1 h 05 min': how the CLI and the TUI show times."""
    seconds = max(0.0, float(seconds))
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class Deadline:
    """A budget that started at `start` (time.monotonic()); `None` seconds means no budget."""

    seconds: float | None
    start: float = field(default_factory=time.monotonic)

    @classmethod
    def from_text(cls, text: str | float | None) -> Deadline:
        """A deadline starting now; None, '' or 'none' for no budget."""
        return cls(parse_optional_budget(text))

    @property
    def limited(self) -> bool:
        return self.seconds is not None

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def remaining(self) -> float:
        """Seconds left (infinity without a budget; never below 0)."""
        if self.seconds is None:
            return float("inf")
        return max(0.0, self.seconds - self.elapsed())

    def expired(self) -> bool:
        return self.seconds is not None and self.elapsed() >= self.seconds

    def fits(self, seconds: float) -> bool:
        """Whether work expected to take `seconds` ends within what is left."""
        return seconds <= self.remaining()

    def share(self, parts: int) -> Deadline:
        """A deadline for the next of `parts` equal shares of what is left (starting now)."""
        if self.seconds is None:
            return Deadline(None)
        return Deadline(self.remaining() / max(1, parts))

    def describe(self) -> str:
        if self.seconds is None:
            return f"{format_seconds(self.elapsed())} elapsed"
        return f"{format_seconds(self.elapsed())} elapsed, {format_seconds(self.remaining())} left"
