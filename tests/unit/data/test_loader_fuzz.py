"""Property-based fuzzing of the CSV loader: every file either loads into valid series or is refused with a
TsrnnError; any other exception is a bug.

The default profile runs a few hundred examples in all (the same ones every run); TSRNN_FUZZ=long runs
thousands of new ones (`make fuzz`). With TSRNN_FUZZ_STATS=PATH every example appends its outcome ('loaded' or
the error class) and the test name to PATH."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, composite

from tsrnn.core.config import DataConfig
from tsrnn.core.errors import TsrnnError
from tsrnn.data import csvio
from tsrnn.data.loader import SeriesSet, load_series
from tsrnn.timeline.grid import grid_times

_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example, HealthCheck.filter_too_much]
settings.register_profile(
    "tsrnn-fuzz", max_examples=100, deadline=None, derandomize=True, suppress_health_check=_SLOW, print_blob=True
)
settings.register_profile(
    "tsrnn-fuzz-long", max_examples=3000, deadline=None, suppress_health_check=_SLOW, print_blob=True
)
PROFILE = settings.get_profile("tsrnn-fuzz-long" if os.environ.get("TSRNN_FUZZ") == "long" else "tsrnn-fuzz")


def fuzz(weight: float = 1.0) -> settings:
    """The profile's settings with `weight` times its number of examples."""
    return settings(PROFILE, max_examples=max(1, int(PROFILE.max_examples * weight)))


# ---- cells ---------------------------------------------------------------------------------------------------

DATES = [
    "2020-01-05",
    "2020-02-29",
    "2021-02-29",
    "2020-01-05T03:00:00",
    "2020-01-05T03:00:00Z",
    "2020-01-05 03:00",
    "2020-01-05T03:00:00.250",
    "2020-01-05T03:00Z",
    "05/01/2020",
    "5.1.20",
    "01-05-2020",
    "2020-01",
    "2020/01/05",
    "2020-13-45",
    "yesterday",
    "NaT",
    "0000-00-00",
    "9999-12-31T23:59:59Z",
    "1677-09-21",
    "2262-04-12",
    "-0001-01-01",
    "20200105",
    "10000-01-01",
    "0001-01-01",
    "1970-01-01T00:00:60",
    "2020-01-05T25:00:00",
    "2020-W02",
    "2020-01-05T03:00:00+02:00",
    " 2020-01-06 ",
    "2020-01-05T03:00:00.1234567",
]
NUMBERS = [
    "1",
    "-0",
    "0.5",
    "1e308",
    "1e309",
    "-1e309",
    "1.7976931348623157e308",
    "3.5e38",
    "-3.4028236e38",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "",
    "NA",
    "null",
    "None",
    "1,5",
    "1.234,5",
    "9" * 400,
    "0x10",
    "1_000",
    " 7 ",
    "+.5",
    ".",
    "e5",
    "1e-320",
    "0.1",
    "-12.75",
    "12,000",
    "１２",
    "٣",
]
IDS = ["a", "b", "série", "日本", "", " ", "a,b", 'x"y', "a\nb", "s1", "0", "\u2028", "\xa0"]
NAMES = [
    "time",
    "date",
    "ds",
    "timestamp",
    "Time",
    "value",
    "y",
    "sales",
    "id",
    "unique_id",
    "series",
    "température",
    "値",
    "",
    " value ",
    "x",
    "month",
    "load",
    "a;b",
    "\ufeffvalue",
]
DELIMS = [",", ";", "\t"]
ENDS = ["\n", "\r\n", "\r"]


@composite
def cell(draw: DrawFn, delimiter: str) -> str:
    """One cell as written in the file: a date, a number, an id or junk, quoted or not (well or badly)."""
    source = draw(st.sampled_from(["date"] * 3 + ["number"] * 3 + ["id"] * 2 + ["text"] * 2 + ["long"]))
    if source == "long":
        return "x" * draw(st.sampled_from([1000, 70_000, 140_000]))
    text = draw(
        {
            "date": st.sampled_from(DATES),
            "number": st.sampled_from(NUMBERS),
            "id": st.sampled_from(IDS),
            "text": st.text(max_size=8),
        }[source]
    )
    quote = draw(st.sampled_from(["none"] * 16 + ["balanced"] * 3 + ["open", "close", "inside"]))
    if quote == "balanced" or (
        quote == "none" and any(c in text for c in (delimiter, '"', "\n", "\r")) and draw(st.booleans())
    ):
        return '"' + text.replace('"', '""') + '"'
    if quote == "open":
        return '"' + text
    if quote == "close":
        return text + '"'
    if quote == "inside":
        return text[: len(text) // 2] + '"' + text[len(text) // 2 :]
    return text


@composite
def csv_shaped(draw: DrawFn) -> bytes:
    """Bytes shaped like a CSV: a header and rows of mixed cells, any delimiter and line ends, BOMs, blank and
    delimiter-only rows, bad bytes. Columns mostly hold one kind of cell (times counting up, numbers, ids), so
    that some files load; how often a row or cell goes wrong is drawn per file, each row and cell by chance."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    delimiter = draw(st.sampled_from(DELIMS))
    width = draw(st.integers(2, 4)) if rng.random() < 0.9 else 1
    header = list(rng.choice(NAMES, size=width, replace=rng.random() < 0.1))
    kinds = [str(k) for k in rng.choice(["time", "number", "id", "any"], size=width)]
    if rng.random() < 0.7:
        kinds[0], kinds[-1] = "time", "number"
        header[0] = draw(st.sampled_from(["time", "date", "ds", "x", "", "Time"]))
    junk = draw(st.sampled_from([0, 0, 0, 2, 10, 100]))  # percent of cells drawn from everything
    mess = draw(st.sampled_from([0, 0, 1, 5]))  # percent of rows that are blank, delimiters only or ragged
    step = draw(st.sampled_from([np.timedelta64(1, "D"), np.timedelta64(1, "h"), np.timedelta64(7, "D")]))
    start = np.datetime64("2020-01-01T00:00", "us")
    rows = [header]
    n_rows = int(rng.integers(3, 31)) if rng.random() < 0.9 else int(rng.integers(0, 3))
    for r in range(n_rows):
        kind = str(rng.choice(["blank", "delims", "ragged"])) if rng.random() * 100 < mess else "cells"
        if kind == "blank":
            rows.append([str(rng.choice(["", " ", "\t", "  "]))])
        elif kind == "delims":
            rows.append([str(rng.choice(["", " "])) for _ in range(rng.integers(1, width + 3))])
        else:
            n = width + (int(rng.integers(-1, 2)) if kind == "ragged" else 0)
            row = []
            for j in range(max(n, 1)):
                k = kinds[j] if j < width and rng.random() * 100 >= junk else "any"
                if k == "time":
                    row.append(str(start + r * step).replace(":00.000000", "").replace("T00:00", ""))
                elif k == "number":
                    row.append(str(rng.choice([*NUMBERS[:3], "12.5", "-3", "0", "7e2"])))
                elif k == "id":
                    row.append(str(rng.choice(IDS[:4])))
                else:
                    row.append(draw(cell(delimiter)))
            rows.append(row)
    end = draw(st.sampled_from(ENDS))
    mixed = rng.random() < 0.2
    out = []
    for cells in rows:
        d = str(rng.choice(DELIMS)) if rng.random() * 100 < mess else delimiter
        out.append(d.join(cells) + (str(rng.choice(ENDS)) if mixed else end))
    text = "".join(out)
    if rng.random() < 0.5:
        text = text.rstrip("\r\n")
    data = text.encode()
    if rng.random() < 0.2:
        data = bytes(rng.choice([b"\xef\xbb\xbf", b"\r", b"\n", b"\r\n", b" \n", b",,\n", b";;;\r\n"])) + data
    if rng.random() < 0.05:
        at = int(rng.integers(0, len(data) + 1))
        data = data[:at] + bytes(rng.choice([b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\x00", b"\xe2\x80"])) + data[at:]
    return data


ALPHABET = [*',;\t"\r\n 0123456789-:.TZe+aé日', "2020-01-0", "NaN", "\ufeff", "\x00"]


@composite
def csv_alphabet(draw: DrawFn) -> bytes:
    """Short random strings over the characters that matter to a CSV reader, and some raw bytes."""
    text = "".join(draw(st.lists(st.sampled_from(ALPHABET), max_size=120)))
    data = text.encode()
    if draw(st.booleans()):
        data += draw(st.binary(max_size=8))
    return data


# ---- well-formed files and their edits ------------------------------------------------------------------------

FREQS: dict[str, np.timedelta64] = {
    "daily": np.timedelta64(1, "D"),
    "hourly": np.timedelta64(1, "h"),
    "minutes": np.timedelta64(15, "m"),
    "weekly": np.timedelta64(7, "D"),
    "monthly": np.timedelta64(1, "M"),
}
"""Grid steps (months are counted on the calendar)."""


def _grid(kind: str, start: np.datetime64, n: int) -> np.ndarray:
    if kind == "monthly":
        return (start.astype("datetime64[M]") + np.arange(n)).astype("datetime64[D]").astype("datetime64[us]")
    return start.astype("datetime64[us]") + np.array([FREQS[kind] * i for i in range(n)])


def _fmt(t: np.datetime64, kind: str, style: str) -> str:
    if kind in ("daily", "weekly", "monthly") and style == "date":
        return str(t.astype("datetime64[D]"))
    text = str(t.astype("datetime64[s]"))
    return {"date": text, "T": text, "space": text.replace("T", " "), "Z": text + "Z"}[style]


@composite
def grid_file(draw: DrawFn) -> tuple[bytes, dict[str, object]]:
    """A well-formed file on a regular grid (long format with ids when several series), then maybe edited:
    rows deleted, duplicated, swapped, shifted off the grid, cells emptied or spoilt. Returns the bytes and
    what was written (the series as written when there were no edits)."""
    kind = draw(st.sampled_from(list(FREQS)))
    style = draw(st.sampled_from(["date", "T", "space", "Z"]))
    start = np.datetime64("2000-01-01") + np.timedelta64(draw(st.integers(-20000, 20000)), "D")
    n_series = draw(st.integers(1, 3))
    length = draw(st.integers(2, 40))
    n_values = draw(st.integers(1, 3))
    delimiter = draw(st.sampled_from(DELIMS))
    names = ["time", *(["id"] if n_series > 1 else []), *(f"v{j}" for j in range(n_values))]
    times = _grid(kind, start, length)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    big = draw(st.sampled_from([1.0, 1e6, 1e30]))
    values = (rng.normal(size=(n_series, length, n_values)) * big).astype(np.float32)
    ids = draw(st.sampled_from([["s0", "s1", "s2"], ["série é", "a,b", "日本"], ["2", "10", "1"]]))
    rows: list[list[str]] = []
    for s in range(n_series):
        for i in range(length):
            rows.append(
                [
                    _fmt(times[i], kind, style),
                    *([ids[s]] if n_series > 1 else []),
                    *(repr(float(v)) for v in values[s, i]),
                ]
            )
    edits = draw(
        st.lists(
            st.sampled_from(
                ["delete", "duplicate", "swap", "shift", "offgrid", "empty", "nan", "spoil", "far", "sort"]
            ),
            max_size=3,
        )
    )
    for edit in edits:
        if not rows:
            break
        i = draw(st.integers(0, len(rows) - 1))
        j = draw(st.integers(0, len(rows) - 1))
        if edit == "delete":
            del rows[i]
        elif edit == "duplicate":
            rows.insert(i, list(rows[i]))
        elif edit == "swap":
            rows[i], rows[j] = rows[j], rows[i]
        elif edit in ("shift", "offgrid", "far"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t = np.datetime64(rows[i][0].rstrip("Z").replace(" ", "T"), "us")
            except ValueError:  # spoilt by an earlier edit
                continue
            step = {
                "shift": np.timedelta64(draw(st.integers(-3, 3)), "D"),
                "offgrid": np.timedelta64(draw(st.integers(1, 3599)), "s"),
                "far": np.timedelta64(draw(st.sampled_from([200, 3000, 90_000])) * 365, "D"),
            }[edit]
            rows[i][0] = _fmt(t + step, kind, style)
        elif edit in ("empty", "nan", "spoil"):
            col = draw(st.integers(0, len(rows[i]) - 1))
            rows[i][col] = {"empty": "", "nan": "NaN", "spoil": draw(st.sampled_from(NUMBERS + DATES))}[edit]
        elif edit == "sort":
            rows.sort(key=lambda r: r[-1])
    end = draw(st.sampled_from(ENDS))
    quote_all = draw(st.booleans())

    def line(cells: list[str]) -> str:
        return delimiter.join('"' + c.replace('"', '""') + '"' if quote_all or delimiter in c else c for c in cells)

    text = end.join(line(r) for r in [names, *rows]) + (end if draw(st.booleans()) else "")
    bom = b"\xef\xbb\xbf" if draw(st.integers(0, 5)) == 0 else b""
    return bom + text.encode(), {
        "edited": bool(edits),
        "names": names,
        "values": values,
        "times": times,
        "n_series": n_series,
    }


# ---- the property ---------------------------------------------------------------------------------------------


def _record(outcome: str, test: str) -> None:
    path = os.environ.get("TSRNN_FUZZ_STATS")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{outcome} {test}\n")


def _check_series(s: SeriesSet) -> None:
    """What every loaded file must satisfy."""
    assert s.n_series >= 1 and len(s.ids) == len(s.times) == len(s.values) == s.n_series
    assert s.targets and len(set(s.channels)) == len(s.channels)
    assert s.time_col not in s.channels and s.id_col not in s.channels
    for t, v in zip(s.times, s.values, strict=True):
        assert t.dtype == np.dtype("datetime64[us]") and v.dtype == np.float32
        assert v.shape == (len(t), len(s.channels)) and len(t) >= 1
        assert np.isfinite(v).all()
        assert np.all(t[1:] > t[:-1])
        np.testing.assert_array_equal(t, grid_times(np.repeat(t[0], len(t)), np.arange(len(t)), s.freq))


def _outcome(call: Callable[[], object]) -> tuple[str, object]:
    """Run one loader call: 'loaded' and its result, or the TsrnnError's class and the error. Any other
    exception propagates and fails the test."""
    try:
        result = call()
    except TsrnnError as exc:
        assert exc.message and "Traceback" not in exc.message
        return type(exc).__name__, exc
    return "loaded", result


def _configs(header: list[str], draw: Callable[..., Any]) -> list[DataConfig]:
    """Some settings a user might pass for these columns (and some that do not fit)."""
    cols = [*header, "nope"]
    out = []
    for _ in range(draw(st.integers(0, 2))):
        targets = tuple(draw(st.lists(st.sampled_from(cols), min_size=1, max_size=2)))
        out.append(
            DataConfig(
                targets=targets,
                time_col=draw(st.one_of(st.none(), st.sampled_from(cols))),
                id_col=draw(st.one_of(st.none(), st.sampled_from(cols))),
                features=draw(st.sampled_from([(), "all", tuple(cols[:1])])),
                max_gap=draw(st.one_of(st.none(), st.integers(0, 5))),
            )
        )
    return out


def _load_everything(
    data: bytes, draw: Callable[..., Any] | None, test: str, config: DataConfig | None = None
) -> tuple[str, object]:
    """Write the bytes to a file and read it every way the loader offers; return the outcome of the load with
    `config` (the defaults when None)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.csv"
        path.write_bytes(data)
        kind, header = _outcome(lambda: csvio.read_header(path))
        if kind == "loaded":
            assert isinstance(header, list) and all(isinstance(c, str) for c in header)
        outcome, result = _outcome(lambda: load_series(path, config))
        _record(outcome, test)
        if isinstance(result, SeriesSet):
            _check_series(result)
        if draw is not None and isinstance(header, list):
            for cfg in _configs(header, draw):
                _, other = _outcome(partial(load_series, path, cfg))
                if isinstance(other, SeriesSet):
                    _check_series(other)
        return outcome, result


@fuzz(1.5)
@given(st.data())
def test_csv_shaped_bytes_load_or_refuse(data: st.DataObject) -> None:
    _load_everything(data.draw(csv_shaped()), data.draw, "csv_shaped")


@fuzz(1.0)
@given(csv_alphabet())
def test_random_text_load_or_refuse(data: bytes) -> None:
    _load_everything(data, None, "alphabet")


@fuzz(1.5)
@given(st.data())
def test_edited_grid_load_or_refuse(data: st.DataObject) -> None:
    raw, written = data.draw(grid_file())
    names = written["names"]
    assert isinstance(names, list)
    targets = tuple(n for n in names if n.startswith("v"))
    outcome, result = _load_everything(raw, data.draw, "grid", DataConfig(targets=targets))
    if written["edited"]:
        return
    # Untouched, the file must load as written: every series, every value, on its grid.
    assert outcome == "loaded", result
    assert isinstance(result, SeriesSet)
    values = written["values"]
    assert isinstance(values, np.ndarray)
    assert result.n_series == written["n_series"]
    for s in range(result.n_series):
        np.testing.assert_array_equal(result.times[s], written["times"])
        np.testing.assert_array_equal(result.values[s], values[s])


def _in_pieces(data: bytes, chunk: int) -> tuple[str, object]:
    """The default load's outcome when the file is checked in pieces of `chunk` bytes."""
    default = csvio.CHUNK
    csvio.CHUNK = chunk
    try:
        return _load_everything(data, None, "pieces")
    finally:
        csvio.CHUNK = default


@fuzz(0.5)
@given(st.one_of(csv_shaped(), grid_file().map(lambda x: x[0])), st.integers(1, 64))
def test_pieces_do_not_change_the_outcome(data: bytes, chunk: int) -> None:
    """A long file is checked piece by piece: where the pieces end must not change what the loader says."""
    whole, a = _load_everything(data, None, "whole")
    pieces, b = _in_pieces(data, chunk)
    assert whole == pieces
    if isinstance(a, SeriesSet) and isinstance(b, SeriesSet):
        assert a.ids == b.ids and a.channels == b.channels and a.freq == b.freq
        for x, y in zip(a.values, b.values, strict=True):
            np.testing.assert_array_equal(x, y)
    else:
        assert str(a) == str(b)
