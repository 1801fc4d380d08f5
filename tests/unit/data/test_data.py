"""The CSV loader: formats it accepts, and a precise error for every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsrnn.core.config import DataConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.data.loader import demo_path, load_series

DATA = Path(__file__).parents[2] / "data"


def test_demo_is_monthly_airline() -> None:
    s = load_series("demo")
    assert s.path == demo_path()
    assert s.targets == ["passengers"] and s.time_col == "time"
    assert s.freq.code == "1mo" and s.freq.season == 12
    assert s.lengths.tolist() == [144]
    assert s.values[0][0, 0] == 112.0


def test_semicolon_with_decimal_comma_parses_values() -> None:
    s = load_series(DATA / "semicolon_decimal_comma.csv")
    assert s.time_col == "date" and s.targets == ["sales"]
    assert s.values[0][1, 0] == pytest.approx(105.5)
    assert s.report.decimal_comma


def test_bom_crlf_and_tab_read_like_plain_csv() -> None:
    a = load_series(DATA / "bom_crlf.csv")
    b = load_series(DATA / "tab_separated.csv")
    assert a.time_col == "time" and b.time_col == "ds"
    np.testing.assert_array_equal(a.values[0], b.values[0])


def test_unsorted_rows_are_sorted_and_said() -> None:
    s = load_series(DATA / "unsorted.csv")
    assert np.all(np.diff(s.times[0].astype(np.int64)) > 0)
    assert any("sorted" in n for n in s.report.notes())


def test_missing_cells_and_gaps_are_interpolated_and_counted() -> None:
    s = load_series(DATA / "missing_and_gaps.csv")
    assert s.lengths.tolist() == [80]  # the two absent months are back on the grid
    assert s.report.filled_rows == 2
    assert s.report.filled_cells["value"] == 3
    assert not np.isnan(s.values[0]).any()
    v = s.values[0][:, 0]
    assert v[20] == pytest.approx((v[19] * 2 + v[22]) / 3, rel=1e-5)
    notes = " ".join(s.report.notes())
    assert "2 missing time steps" in notes and "3 empty cells in 'value'" in notes


def test_long_format_finds_ids_and_keeps_quoted_commas() -> None:
    s = load_series(DATA / "long_format.csv")
    assert s.id_col == "unique_id" and s.n_series == 3
    assert "south, coast" in s.ids
    assert s.lengths.tolist() == [80, 80, 80]


def test_utc_hourly_timestamps() -> None:
    s = load_series(DATA / "utc_hourly.csv")
    assert s.utc and s.freq.code == "1h" and s.freq.season == 24 and s.time_col == "timestamp"


def test_features_all_takes_other_numeric_columns() -> None:
    s = load_series(DATA / "real" / "us_change_quarterly.csv", DataConfig(targets=("consumption",), features="all"))
    assert s.targets == ["consumption"]
    assert s.features == ["income", "production", "savings", "unemployment"]
    assert s.values[0].shape == (198, 5) and s.freq.code == "3mo"


BAD = [
    ("empty.csv", DataError, ["empty.csv", "empty"]),
    ("header_only.csv", DataError, ["header_only.csv", "no data rows"]),
    ("ragged.csv", DataError, ["ragged.csv", "line 8", "3 fields", "expected 2"]),
    ("non_numeric.csv", DataError, ["non_numeric.csv", "column 'value'", "lines 13, 41", "'n/a'"]),
    ("mixed_decimal.csv", DataError, ["mixed_decimal.csv", "'sales'", "line 9", "decimal separator"]),
    ("ambiguous_dates.csv", DataError, ["ambiguous_dates.csv", "'date'", "day-first or month-first", "YYYY-MM-DD"]),
    ("bad_dates.csv", DataError, ["bad_dates.csv", "'time'", "lines 8, 11", "'2000-13-01'"]),
    ("duplicate_times.csv", DataError, ["duplicate_times.csv", "duplicated timestamps", "2001-03-01", "lines 16, 17"]),
    ("two_numeric.csv", ConfigError, ["two_numeric.csv", "load, temp", "--target"]),
    ("mixed_utc.csv", DataError, ["mixed_utc.csv", "'Z'", "line 7"]),
    ("one_column.csv", DataError, ["one_column.csv", "one column"]),
    ("off_grid.csv", DataError, ["off_grid.csv", "regular monthly grid", "line 14"]),
    ("missing.csv", DataError, ["missing.csv", "not found"]),
]


@pytest.mark.parametrize(("name", "error", "parts"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_and_place(name: str, error: type[Exception], parts: list[str]) -> None:
    with pytest.raises(error) as info:
        load_series(DATA / name)
    for part in parts:
        assert part in str(info.value)


def test_unknown_target_lists_columns() -> None:
    with pytest.raises(ConfigError, match=r"no column 'sales'.*time, load, temp"):
        load_series(DATA / "two_numeric.csv", DataConfig(targets=("sales",)))


def test_long_gap_is_refused_with_its_span() -> None:
    with pytest.raises(DataError) as info:
        load_series(DATA / "long_gap.csv", DataConfig(max_gap=24))
    msg = str(info.value)
    assert "long_gap.csv" in msg and "30 consecutive steps" in msg and "2005-01-01" in msg and "2007-06-01" in msg


def _long_file(path: Path, series: int = 3, length: int = 1000, id_fmt: str = "s{}") -> Path:
    """A long-format daily file, series one after another, values i + step / 10."""
    rows = ["date,id,value"]
    days = np.datetime64("2020-01-01") + np.arange(length)
    for i in range(series):
        rows += [f"{d},{id_fmt.format(i)},{i + t / 10}" for t, d in enumerate(days)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_typed_read_equals_text_read(tmp_path: Path) -> None:
    """A long file parsed as it is read (dates, categorical ids, numbers) loads exactly as its text would."""
    from tsrnn.data import csvio

    path = _long_file(tmp_path / "long.csv")
    typed = csvio.read_raw(path, typed=True, ids=["id"], times=["date"])
    assert [str(t) for t in typed.frame.dtypes] == ["Date", "Categorical", "Float64"]
    s = load_series(path)
    assert s.ids == ["s0", "s1", "s2"] and s.freq.code == "1d"
    assert s.times[2][0] == np.datetime64("2020-01-01") and len(s.times[2]) == 1000
    np.testing.assert_allclose(s.values[1][:, 0], 1 + np.arange(1000) / 10, rtol=1e-6)


def test_numeric_ids_stay_names(tmp_path: Path) -> None:
    s = load_series(_long_file(tmp_path / "ids.csv", series=2, length=30, id_fmt="{}"))
    assert s.ids == ["0", "1"]


def test_interleaved_series_are_grouped(tmp_path: Path) -> None:
    rows = ["date,id,value"] + [f"2020-01-{d:02d},{s},{d}" for d in range(1, 21) for s in ("b", "a")]
    (tmp_path / "mixed.csv").write_text("\n".join(rows) + "\n")
    s = load_series(tmp_path / "mixed.csv")
    assert s.ids == ["b", "a"] and s.lengths.tolist() == [20, 20]
    assert not s.report.sorted_rows


@pytest.mark.parametrize(("bad", "shown"), [("abc", "'abc'"), ("inf", "'inf'"), ("NaNx", "'NaNx'")])
def test_bad_value_after_the_sample_is_named_with_its_line(tmp_path: Path, bad: str, shown: str) -> None:
    """The typed read samples the first rows; a bad cell further down still gets the text path's message."""
    path = _long_file(tmp_path / "late.csv", series=3, length=1000)
    lines = path.read_text().splitlines()
    lines[2500] = lines[2500].rsplit(",", 1)[0] + f",{bad}"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load_series(path)
    assert "late.csv" in err.value.message and "line 2501" in err.value.message and shown in err.value.message


def test_bad_date_after_the_sample_is_named_with_its_line(tmp_path: Path) -> None:
    path = _long_file(tmp_path / "late_date.csv", series=3, length=1000)
    lines = path.read_text().splitlines()
    lines[2600] = "2021-02-30" + lines[2600][10:]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 2601.*'2021-02-30'"):
        load_series(path)


def test_file_is_checked_piece_by_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Field counts and UTF-8 are checked in pieces that end at line ends; the line and offset stay exact."""
    from tsrnn.data import csvio

    monkeypatch.setattr(csvio, "CHUNK", 37)
    path = tmp_path / "pieces.csv"
    rows = ["time,value", *(f"2020-01-{d:02d},{d}" for d in range(1, 29))]
    path.write_text("\n".join(rows) + "\n")
    assert load_series(path).lengths.tolist() == [28]
    rows[20] += ",7"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match="line 21 has 3 fields, expected 2"):
        load_series(path)
    data = ("\n".join(rows[:20]) + "\n").encode()
    path.write_bytes(data + b"2020-01-20,\xff\n")
    with pytest.raises(DataError, match=f"bad byte at offset {len(data) + 11}"):
        load_series(path)


def test_preview_shows_cells_as_written(tmp_path: Path) -> None:
    """The typed read keeps the first and last rows as text for display ('1.50', not 1.5)."""
    rows = ["time;value", *(f"2020-01-{d:02d};{d}.50" for d in range(1, 29)), "2020-01-29;", "2020-01-30;7.25"]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    preview = load_series(tmp_path / "p.csv").raw_preview
    assert preview is not None
    assert preview.rows()[0] == ("2020-01-01", "1.50") and preview.rows()[-2:] == [
        ("2020-01-29", None),
        ("2020-01-30", "7.25"),
    ]
    assert preview.height == 10
