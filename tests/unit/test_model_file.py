"""Damaged or edited model files: every inconsistency is a ModelFileError naming the file and the field."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
import pytest

from tsrnn import artifact
from tsrnn.errors import ModelFileError
from tsrnn.inference import Forecaster


def edited(src: Path, dst: Path, change: Callable[[dict[str, Any]], Any] | str) -> Path:
    """A copy of the model with its metadata changed by `change` (or replaced by the text `change`)."""
    proto = onnx.load(str(src))
    entry = next(e for e in proto.metadata_props if e.key == artifact.METADATA_KEY)
    if isinstance(change, str):
        entry.value = change
    else:
        meta = json.loads(entry.value)
        change(meta)
        entry.value = json.dumps(meta)
    onnx.save(proto, str(dst))
    return dst


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(meta: dict[str, Any]) -> None:
        if "." in key:
            outer, inner = key.split(".")
            meta[outer][inner] = value
        else:
            meta[key] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda meta: meta.pop(key)


DAMAGED = [
    ("window", _set("input_len", 12), ["'input_len' says 12", "'history' has 24"]),
    ("horizon", _set("horizon", 6), ["'horizon' says 6", "'forecast' has 12"]),
    ("horizon0", _set("horizon", 0), ["'horizon' is 0", "at least 1"]),
    ("window_float", _set("input_len", 24.5), ["'input_len' is 24.5", "not a whole number"]),
    ("window_text", _set("input_len", "24"), ["'input_len' is '24'", "not a whole number"]),
    ("freq_code", _set("freq.code", "fortnightly"), ["'freq.code' is 'fortnightly'", "not a frequency"]),
    ("freq_step", _set("freq.months", 0), ["'freq.months'", "at least 1"]),
    ("no_freq", _drop("freq"), ["'freq' is missing"]),
    ("targets_empty", _set("targets", []), ["'targets' is []", "non-empty list"]),
    ("inputs_order", _set("inputs", ["other"]), ["'inputs' must start with the targets"]),
    ("extra_input", _set("inputs", ["passengers", "price"]), ["'inputs' says 2", "'history' has 1"]),
    ("cell", _set("cell", "transformer"), ["'cell' is 'transformer'"]),
    ("task", _set("task", "direction"), ["'outputs' are"]),
    ("quantiles", _set("quantiles", [0.9, 0.1]), ["'quantiles' must be distinct, increasing"]),
    ("newer", _set("schema_version", 99), ["'schema_version' is 99", "newer tsrnn"]),
    ("not_object", "[1, 2]", ["'(top level)' is not a JSON object"]),
    ("not_json", "{input_len: 24", ["not valid JSON", "line 1 column 2"]),
]


@pytest.mark.parametrize(("name", "change", "words"), DAMAGED, ids=[d[0] for d in DAMAGED])
def test_damaged_metadata_is_a_clear_error(
    demo_model: Path, tmp_path: Path, name: str, change: Any, words: list[str]
) -> None:
    path = edited(demo_model, tmp_path / f"{name}.onnx", change)
    with pytest.raises(ModelFileError) as err:
        Forecaster.load(path)
    message = err.value.message
    assert message.startswith(f"{name}.onnx: ")
    for word in words:
        assert word in message, message
    assert ("export the model again" in message) == (name != "newer"), message


@pytest.mark.parametrize("command", ["forecast", "inspect"])
def test_cli_refuses_a_damaged_model_in_one_line(demo_model: Path, tmp_path: Path, command: str) -> None:
    path = edited(demo_model, tmp_path / "h0.onnx", _set("horizon", 0))
    args = [path, "demo"] if command == "forecast" else [path]
    out = subprocess.run([sys.executable, "-m", "tsrnn", command, *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "tsrnn: error: h0.onnx: metadata field 'horizon' is 0; it must be at least 1; the file was edited or "
        "damaged: export the model again"
    ]
    assert out.stdout == ""


def test_version_1_files_without_schema_still_load(demo_model: Path, tmp_path: Path) -> None:
    def as_v1(meta: dict[str, Any]) -> None:
        for key in ("schema_version", "tsrnn_version", "outputs", "backtest", "utc", "split"):
            meta.pop(key, None)

    f = Forecaster.load(edited(demo_model, tmp_path / "v1.onnx", as_v1))
    assert f.meta.schema_version == 1 and f.horizon == 12 and f.forecast_csv("demo").table.height == 12


def test_unknown_keys_are_kept(demo_model: Path, tmp_path: Path) -> None:
    f = Forecaster.load(edited(demo_model, tmp_path / "x.onnx", _set("from_the_future", {"a": 1})))
    assert f.meta.extra == {"from_the_future": {"a": 1}}
    assert f.meta.to_dict()["from_the_future"] == {"a": 1}


def test_metadata_round_trip(demo_model: Path) -> None:
    meta = Forecaster.load(demo_model).meta
    assert artifact.loads(artifact.dumps(meta)) == meta


def test_folder_and_missing_model_paths(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="is a folder, not a model file"):
        Forecaster.load(tmp_path)
    with pytest.raises(ModelFileError, match="model file not found"):
        Forecaster.load(tmp_path / "nope.onnx")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match=r"empty\.onnx: not a readable ONNX model"):
        Forecaster.load(empty)
