"""Public-holiday flags known in advance: a country's holidays stored as dates, and the flags of each row.

The `holidays` package is needed only to build a `HolidayCalendar` when training; the model stores the dates
themselves, so the flags of the input window and the horizon need numpy alone.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tsrnn.core.errors import ConfigError, ModelFileError
from tsrnn.timeline.localtime import local_times, pieces

if TYPE_CHECKING:
    from types import ModuleType

HOLIDAY_COLUMNS = ("holiday", "day_before", "day_after")
"""Holiday flags: the day is a holiday, the next day is one, the previous day was one."""
HOLIDAY_YEARS_AHEAD = 10
"""A model stores holidays from the training data's first year through its last year plus this many."""

_INSTALL = "pip install 'tsrnn[train]'"


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays of one country or subdivision, stored as dates so forecasting needs no `holidays`."""

    country: str
    """ISO 3166-1 alpha-2 code as the holidays package names it (e.g. AU)."""
    subdiv: str | None
    """Subdivision code (e.g. VIC), or None for the national holidays."""
    package_version: str
    """Version of the holidays package that listed the dates."""
    dates: tuple[str, ...]
    """Sorted ISO dates, from 31 December before first_year to 1 January after last_year."""
    first_year: int
    last_year: int

    @property
    def spec(self) -> str:
        return self.country + (f":{self.subdiv}" if self.subdiv else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "subdiv": self.subdiv,
            "package_version": self.package_version,
            "first_year": self.first_year,
            "last_year": self.last_year,
            "dates": list(self.dates),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HolidayCalendar:
        try:
            return cls(
                str(d["country"]),
                None if d["subdiv"] is None else str(d["subdiv"]),
                str(d["package_version"]),
                tuple(str(x) for x in d["dates"]),
                int(d["first_year"]),
                int(d["last_year"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"the model's holiday calendar is malformed ({type(e).__name__}: {e})") from None

    def day_numbers(self) -> np.ndarray:
        """The holidays as datetime64[D]."""
        return np.array(self.dates, dtype="datetime64[D]")

    def covers(self, times: np.ndarray, tz: str | None = None) -> bool:
        """Whether every (local) date falls in first_year..last_year."""
        if len(times) == 0:
            return True
        years = local_times(times, tz).astype("datetime64[Y]").astype(np.int64) + 1970
        return bool(years.min() >= self.first_year and years.max() <= self.last_year)

    def first_date_beyond(self, times: np.ndarray, tz: str | None = None) -> np.datetime64 | None:
        """The earliest (local) date after last_year, where holiday flags are unknown (read as 0); else None."""
        days = local_times(times, tz).astype("datetime64[D]")
        late = days[days >= np.datetime64(f"{self.last_year + 1}-01-01", "D")]
        return late.min() if len(late) else None


def holiday_features(times: np.ndarray, cal: HolidayCalendar, tz: str | None = None) -> np.ndarray:
    """(T, 3) float32 flags from the (local) date: holiday, day_before (the next day is a holiday), day_after
    (the previous day was one)."""
    days = local_times(times, tz).astype("datetime64[D]").view(np.int64)
    out = np.zeros((len(days), 3), dtype=np.float32)
    if len(days) == 0:
        return out
    # A flag per day from the day before the first row to the day after the last, looked up by index.
    first = int(days.min()) - 1
    marked = np.zeros(int(days.max()) + 2 - first, dtype=bool)
    hol = cal.day_numbers().view(np.int64) - first
    marked[hol[(hol >= 0) & (hol < len(marked))]] = True
    for a, b in pieces(len(days)):
        index = days[a:b] - first
        out[a:b, 0] = marked[index]
        out[a:b, 1] = marked[index + 1]
        out[a:b, 2] = marked[index - 1]
    return out


def holiday_years(times: Sequence[np.ndarray]) -> tuple[int, int]:
    """The years a model stores: the training data's first year through its last year + HOLIDAY_YEARS_AHEAD."""
    present = [t for t in times if len(t)]
    if not present:
        raise ConfigError("holidays: no timestamps to take the years from")
    first = min(int(t.min().astype("datetime64[Y]").astype(np.int64)) for t in present) + 1970
    last = max(int(t.max().astype("datetime64[Y]").astype(np.int64)) for t in present) + 1970
    return first, last + HOLIDAY_YEARS_AHEAD


def build_holidays(spec: str, years: range | tuple[int, int]) -> HolidayCalendar:
    """The public holidays of `spec` (COUNTRY[:SUBDIVISION], e.g. AU:VIC, US, DE:BY) over `years` (a range, or
    first and last year inclusive)."""
    first, last = (years.start, years.stop - 1) if isinstance(years, range) else years
    if first > last:
        raise ConfigError(f"holidays: no years to list ({first}..{last})")
    mod = _holidays_module()
    country_text, _, subdiv_text = spec.partition(":")
    country = _resolve_country(mod, country_text.strip())
    national = mod.country_holidays(country, years=[])
    subdiv = _resolve_subdiv(national, subdiv_text.strip(), spec) if ":" in spec else None
    table = mod.country_holidays(country, subdiv=subdiv, years=range(first - 1, last + 2))
    lo, hi = dt.date(first - 1, 12, 31), dt.date(last + 1, 1, 1)
    dates = tuple(d.isoformat() for d in sorted(table) if lo <= d <= hi)
    return HolidayCalendar(str(national.country), subdiv, str(mod.__version__), dates, first, last)


def _holidays_module() -> ModuleType:
    try:
        # Here, not at the top: holidays is an optional package, needed only for --holidays.
        import holidays
    except ImportError:
        raise ConfigError(f"holiday features need the 'holidays' package: {_INSTALL}") from None
    return holidays


def _resolve_country(mod: ModuleType, text: str) -> str:
    """The supported code (two or three letters, any case) that `text` names, or a ConfigError with suggestions."""
    supported = mod.list_supported_countries(include_aliases=True)
    by_upper = {code.upper(): code for code in supported}
    if text.upper() in by_upper:
        return str(by_upper[text.upper()])
    same_length = sorted(code for code in by_upper if len(code) == len(text))  # alpha-2 or alpha-3
    close = difflib.get_close_matches(text.upper(), same_length, n=4, cutoff=0.5)
    named = _countries_named(mod, text)
    hint = f" (did you mean {', '.join(dict.fromkeys(named + close))}?)" if named or close else ""
    raise ConfigError(
        f"holidays: unknown country code '{text}'{hint}; use an ISO 3166-1 alpha-2 code such as AU, US or DE, "
        "optionally with a subdivision as in AU:VIC. List them with "
        'python -c "import holidays; print(sorted(holidays.list_supported_countries()))"'
    )


def _countries_named(mod: ModuleType, text: str) -> list[str]:
    """Codes of countries whose name contains `text` (e.g. 'germany' -> DE)."""
    key = text.lower().replace(" ", "").replace("_", "")
    if len(key) < 4:
        return []
    countries = getattr(getattr(mod, "registry", None), "COUNTRIES", {})
    return [str(entry[1]) for entry in countries.values() if key in str(entry[0]).lower()][:4]


def _resolve_subdiv(national: Any, text: str, spec: str) -> str:
    """The subdivision code `text` names (a code or an alias such as 'Victoria', any case)."""
    codes = [str(c) for c in national.subdivisions]
    aliases = {str(k): str(v) for k, v in getattr(national, "subdivisions_aliases", {}).items()}
    lookup = {c.upper(): c for c in codes} | {k.upper(): v for k, v in aliases.items()}
    if text.upper() in lookup:
        return lookup[text.upper()]
    country = str(national.country)
    if not codes:
        raise ConfigError(f"holidays: '{spec}': {country} has no subdivisions; write just {country}")
    close = difflib.get_close_matches(text.upper(), sorted(lookup), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(dict.fromkeys(lookup[c] for c in close))}?)" if close else ""
    raise ConfigError(
        f"holidays: '{spec}': {country} has no subdivision '{text}'{hint}; valid subdivisions of {country}: "
        f"{', '.join(codes)}"
    )
