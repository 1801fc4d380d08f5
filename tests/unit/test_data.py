"""The CSV loader: formats it accepts, and a precise error for every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsrnn.config import DataConfig
from tsrnn.data import demo_path, load_series
from tsrnn.errors import ConfigError, DataError

DATA = Path(__file__).parents[1] / "data"


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
