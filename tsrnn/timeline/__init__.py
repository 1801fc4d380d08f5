"""Time: frequencies, trading sessions, local time, holiday calendars, calendar features, known covariates.

The names other layers use, each loaded from its module on first use (importing the package loads none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsrnn.core.lazy import lazy_face

if TYPE_CHECKING:
    from tsrnn.timeline.calendar import FEATURES, auto_calendar, calendar_columns, check_zone, parse_calendar
    from tsrnn.timeline.holidaycal import HolidayCalendar
    from tsrnn.timeline.known import KnownSpec, choose_known, window_times
    from tsrnn.timeline.sessions import SessionCalendar, detect_sessions
    from tsrnn.timeline.timefreq import (
        DAY,
        TIME_NAMES,
        Frequency,
        format_times,
        infer_frequency,
        local_day_steps,
        looks_like_time,
        parse_times,
    )

_FACE = {
    "DAY": "tsrnn.timeline.timefreq",
    "FEATURES": "tsrnn.timeline.calendar",
    "Frequency": "tsrnn.timeline.timefreq",
    "HolidayCalendar": "tsrnn.timeline.holidaycal",
    "KnownSpec": "tsrnn.timeline.known",
    "SessionCalendar": "tsrnn.timeline.sessions",
    "TIME_NAMES": "tsrnn.timeline.timefreq",
    "auto_calendar": "tsrnn.timeline.calendar",
    "calendar_columns": "tsrnn.timeline.calendar",
    "check_zone": "tsrnn.timeline.calendar",
    "choose_known": "tsrnn.timeline.known",
    "detect_sessions": "tsrnn.timeline.sessions",
    "format_times": "tsrnn.timeline.timefreq",
    "infer_frequency": "tsrnn.timeline.timefreq",
    "local_day_steps": "tsrnn.timeline.timefreq",
    "looks_like_time": "tsrnn.timeline.timefreq",
    "parse_calendar": "tsrnn.timeline.calendar",
    "parse_times": "tsrnn.timeline.timefreq",
    "window_times": "tsrnn.timeline.known",
}

__all__ = [
    "DAY",
    "FEATURES",
    "TIME_NAMES",
    "Frequency",
    "HolidayCalendar",
    "KnownSpec",
    "SessionCalendar",
    "auto_calendar",
    "calendar_columns",
    "check_zone",
    "choose_known",
    "detect_sessions",
    "format_times",
    "infer_frequency",
    "local_day_steps",
    "looks_like_time",
    "parse_calendar",
    "parse_times",
    "window_times",
]


__getattr__ = lazy_face(__name__, _FACE)
