"""The CSV loader on malformed or unusual files: each loads as a user would expect or is refused with a
DataError that names the file and the line (never another exception)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tsrnn.core.config import DataConfig
from tsrnn.core.errors import DataError
from tsrnn.data import csvio
from tsrnn.data.loader import load_series
from tsrnn.timeline.timefreq import parse_times

ROWS = [f"2020-01-{d:02d},{d * 1.5}" for d in range(1, 21)]


def _write(tmp_path: Path, data: str | bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _lf(tmp_path: Path) -> Path:
    return _write(tmp_path, "time,value\n" + "\n".join(ROWS) + "\n", "lf.csv")


def _same_series(a: Path, b: Path) -> None:
    x, y = load_series(a), load_series(b)
    assert x.lengths.tolist() == y.lengths.tolist() and x.freq == y.freq
    np.testing.assert_array_equal(x.times[0], y.times[0])
    np.testing.assert_array_equal(x.values[0], y.values[0])


@pytest.mark.parametrize("end", ["\r", "\r\n"])
def test_cr_line_ends_load_like_lf(tmp_path: Path, end: str) -> None:
    """Old Mac and some Excel exports end lines with a lone CR."""
    path = _write(tmp_path, "time,value" + end + end.join(ROWS) + end)
    assert csvio.read_header(path) == ["time", "value"]
    _same_series(path, _lf(tmp_path))


def test_mixed_and_leading_cr_load_like_lf(tmp_path: Path) -> None:
    mixed = "".join(r + ("\r", "\n", "\r\n")[i % 3] for i, r in enumerate(ROWS))
    _same_series(_write(tmp_path, "\rtime,value\r" + mixed, "lead.csv"), _lf(tmp_path))
    _same_series(_write(tmp_path, "\rtime,value\n" + "\n".join(ROWS), "lead_lf.csv"), _lf(tmp_path))


def test_cr_file_names_the_right_line(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[6] = "2020-01-07,abc"
    path = _write(tmp_path, "time,value\r" + "\r".join(rows) + "\r")
    with pytest.raises(DataError, match=r"f\.csv: column 'value' has non-numeric values on line 8 \('abc'\)"):
        load_series(path)


def test_cr_file_with_quotes_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, 'time,"value"\r' + "\r".join(f'"{r.split(",")[0]}",{r.split(",")[1]}' for r in ROWS))
    _same_series(path, _lf(tmp_path))


@pytest.mark.parametrize(
    ("row", "parts"),
    [
        ('2020-01-21,"5', ["line 22", "never closed", "'2020-01-21,\"5'"]),
        ('2020-01-2"1,5', ["line 22", 'a quote (") inside a field', "'2020-01-2\"1,5'"]),
        ('2020-01-21,5"', ["line 22", 'a quote (") inside a field']),
        ('2020-01-21, "5"', ["line 22", 'a quote (") inside a field']),
        ('2020-01-21,"5"x', ["line 22", "text after the closing quote"]),
    ],
)
def test_bad_quotes_are_refused_with_their_line(tmp_path: Path, row: str, parts: list[str]) -> None:
    path = _write(tmp_path, "time,value\n" + "\n".join(ROWS) + "\n" + row + "\n")
    with pytest.raises(DataError) as err:
        load_series(path)
    assert err.value.message.startswith("f.csv: ")
    for part in parts:
        assert part in err.value.message


def test_unclosed_quote_names_where_it_opened(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[2] = '"2020-01-03,4.5'
    rows[9] = '"2020-01-10",15.0'
    path = _write(tmp_path, "time,value\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"opened on line 4 is only closed on line 11"):
        load_series(path)


def test_good_quotes_still_load(tmp_path: Path) -> None:
    """Doubled quotes, delimiters and line ends inside quoted fields are fine."""
    rows = ["date,id,value"] + [f'2020-01-{d:02d},"a ""x"", b",{d}' for d in range(1, 11)]
    rows += [f'2020-01-{d:02d},"c\nd",{d}' for d in range(1, 11)]
    s = load_series(_write(tmp_path, "\r\n".join(rows) + "\r\n"))
    assert s.ids == ['a "x", b', "c\nd"] and s.lengths.tolist() == [10, 10]


@pytest.mark.parametrize(
    ("delimiter", "blank"), [(",", ", ,"), (",", ","), (";", ";;;"), ("\t", "\t \t\t"), (",", "   ")]
)
def test_rows_of_only_delimiters_are_skipped(tmp_path: Path, delimiter: str, blank: str) -> None:
    """A row of nothing but delimiters and spaces is an empty row; the lines of later rows stay exact."""
    rows = [r.replace(",", delimiter) for r in ROWS]
    rows[12] = rows[12].split(delimiter)[0] + delimiter + "oops"
    text = "\n".join([f"time{delimiter}value", *rows[:5], blank, *rows[5:]]) + "\n"
    with pytest.raises(DataError, match=r"non-numeric values on line 15 \('oops'\)"):
        load_series(_write(tmp_path, text))
    rows[12] = ROWS[12].replace(",", delimiter)
    text = "\n".join([f"time{delimiter}value", *rows[:5], blank, *rows[5:], blank]) + "\n"
    assert load_series(_write(tmp_path, text, "ok.csv")).lengths.tolist() == [20]


def test_blank_rows_in_a_quoted_file_are_skipped(tmp_path: Path) -> None:
    rows = [f'"{r.split(",")[0]}",{r.split(",")[1]}' for r in ROWS]
    text = "\n".join(["time,value", *rows[:5], ", , ,", *rows[5:]]) + "\n"
    _same_series(_write(tmp_path, text), _lf(tmp_path))


@pytest.mark.parametrize("lead", [",,\n", " \n", "\n\n", ";;\r\n", "\t\n"])
def test_blank_lines_before_the_header_are_skipped(tmp_path: Path, lead: str) -> None:
    path = _write(tmp_path, lead + "time,value\n" + "\n".join(ROWS) + "\n")
    assert csvio.read_header(path) == ["time", "value"]
    _same_series(path, _lf(tmp_path))


def test_file_of_blank_rows_is_empty(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"f\.csv: the file is empty"):
        load_series(_write(tmp_path, ",,\n ; \n"))


@pytest.mark.parametrize("where", ["cell", "header", "quoted header"])
def test_field_over_128_kib_is_refused(tmp_path: Path, where: str) -> None:
    big = "x" * 140_000
    header = {"cell": "time,value", "header": f"time,value{big}", "quoted header": f'time,"value{big}"'}[where]
    last = f'\n2020-01-21,"{big}"' if where == "cell" else ""
    path = _write(tmp_path, header + "\n" + "\n".join(ROWS) + last + "\n")
    line = 22 if where == "cell" else 1
    with pytest.raises(DataError, match=f"f.csv: line {line} has a field of more than 128 KiB"):
        load_series(path)


def test_long_cell_is_cut_in_the_message(tmp_path: Path) -> None:
    path = _write(tmp_path, "time,value\n" + "\n".join(ROWS) + "\n2020-01-21," + "y" * 100_000 + "\n")
    with pytest.raises(DataError, match=r"line 22 \('yyy+\.\.\.'\)") as err:
        load_series(path)
    assert len(err.value.message) < 400


def test_duplicate_column_names_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "time,value, value\n" + "\n".join(r + ",1" for r in ROWS) + "\n")
    with pytest.raises(DataError, match=r"the header \(line 1\) names column 'value' twice"):
        load_series(path)
    unused = _write(tmp_path, "time,value,,\n" + "\n".join(r + ",," for r in ROWS) + "\n", "unused.csv")
    assert load_series(unused).targets == ["value"]


def test_values_beyond_float32_are_refused(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[3] = "2020-01-04,1e308"
    with pytest.raises(DataError, match=r"column 'value' has values too large for 32-bit floats .* line 5"):
        load_series(_write(tmp_path, "time,value\n" + "\n".join(rows) + "\n"))


def test_wrong_year_is_refused_not_filled(tmp_path: Path) -> None:
    """A typo in a year would make millions of steps to interpolate."""
    rows = [f"2020-01-01T{h:02d}:00,{h}" for h in range(20)] + ["2220-01-01T20:00,20"]
    with pytest.raises(DataError, match=r"jumps 1,753,153 steps of the hourly grid .* \(line 22\)"):
        load_series(_write(tmp_path, "time,value\n" + "\n".join(rows) + "\n"))


def test_time_column_named_like_an_id(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,value\n" + "\n".join(ROWS) + "\n")
    s = load_series(path, DataConfig(time_col="id"))
    assert s.time_col == "id" and s.lengths.tolist() == [20]
    with pytest.raises(DataError, match=r"f\.csv: column 'value' does not hold ISO dates"):
        parse_times(pl.Series("value", [1.5, 3.0]), "f.csv", np.array([2, 3]))


def test_unreadable_file_is_a_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _lf(tmp_path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(DataError, match=r"lf\.csv: cannot read the file \(Permission denied\)"):
        load_series(path)
    with pytest.raises(DataError, match="Permission denied"):
        csvio.read_raw(path)
