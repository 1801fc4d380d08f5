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

from tsrnn.core.errors import ModelFileError
from tsrnn.modelfile import artifact
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster


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
    ("lags_alone", _set("season_lags", [12]), ["'season_lags' is [12]", "the file names no seasons"]),
    ("lags_order", _set("season_lags", [24, 12]), ["'season_lags' is [24, 12]", "distinct and ascending"]),
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
    assert f.meta.schema_version == 1 and f.horizon == 12 and forecast_file(f, "demo").table.height == 12


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


def _loop(name: str = "spin", op: str = "Loop") -> onnx.NodeProto:
    """A node that runs its body 2^62 times (a Scan over a declared 2^62-long input for op='Scan')."""
    from onnx import TensorProto, helper

    scalar = [("i", TensorProto.INT64), ("c_in", TensorProto.BOOL), ("x_in", TensorProto.FLOAT)]
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]), helper.make_node("Identity", ["x_in"], ["x_out"])],
        "body",
        [helper.make_tensor_value_info(n, t, []) for n, t in scalar],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), helper.make_tensor_value_info("x_out", 1, [])],
    )
    if op == "Scan":
        each = helper.make_graph(
            [helper.make_node("Add", ["x_in", "e"], ["x_out"])],
            "each",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, []) for n in ("x_in", "e")],
            [helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [])],
        )
        return helper.make_node("Scan", ["x0", "xs"], ["x_final"], body=each, num_scan_inputs=1, name=name)
    return helper.make_node("Loop", ["trip", "cond", "x0"], ["x_final"], body=body, name=name)


def _looping(src: Path, dst: Path, where: str) -> Path:
    """The model with a looping node whose result is added to the forecast (so it would run), placed `where`."""
    import numpy as np
    from onnx import helper, numpy_helper

    proto = onnx.load(str(src))
    graph = proto.graph
    out = graph.output[0].name
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(2**62, np.int64), "trip"),
            numpy_helper.from_array(np.array(True), "cond"),
            numpy_helper.from_array(np.array(0.0, np.float32), "x0"),
            numpy_helper.from_array(np.zeros(3, np.float32), "xs"),
        ]
    )
    for node in graph.node:
        node.output[:] = [o + "_pre" if o == out else o for o in node.output]
    if where == "main":
        graph.node.append(_loop())
    elif where == "scan":
        graph.node.append(_loop(op="Scan"))
    elif where in ("branch", "nested_if"):  # inside the batch-size dispatch's small-batch branch
        dispatch = next(n for n in graph.node if n.op_type == "If")
        branches = {a.name: a.g for a in dispatch.attribute}
        one = helper.make_graph(
            [helper.make_node("Identity", ["x0"], ["y"])],
            "one",
            [],
            [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [])],
        )
        # an If inside a branch is control flow beyond the one dispatch
        inner = helper.make_node("If", ["cond"], ["x_final"], then_branch=one, else_branch=one)
        branches["else_branch"].node.append(_loop() if where == "branch" else inner)
        branches["then_branch"].node.append(helper.make_node("Identity", ["x0"], ["x_final"]))
        for branch in branches.values():
            branch.output.append(helper.make_tensor_value_info("x_final", onnx.TensorProto.FLOAT, []))
        dispatch.output.append("x_final")
    elif where == "function":  # inside a model-local function's body
        proto.functions.append(
            helper.make_function(
                "tsrnn.test", "Spin", ["trip", "cond", "x0"], ["x_final"], [_loop()], [helper.make_opsetid("", 17)]
            )
        )
        proto.opset_import.append(helper.make_opsetid("tsrnn.test", 1))
        graph.node.append(helper.make_node("Spin", ["trip", "cond", "x0"], ["x_final"], domain="tsrnn.test"))
    graph.node.append(helper.make_node("Add", [out + "_pre", "x_final"], [out]))
    onnx.save(proto, str(dst))
    return dst


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("main", "a Loop node ('spin'), which repeats a subgraph and may run for ever"),
        ("scan", "a Scan node ('spin'), which repeats"),
        ("branch", "a Loop node ('spin')"),
        ("function", "a Loop node ('spin')"),
        ("nested_if", "a If node holds a subgraph where tsrnn model files have none"),
    ],
)
def test_looping_graphs_are_refused_before_running(demo_model: Path, tmp_path: Path, where: str, words: str) -> None:
    path = _looping(demo_model, tmp_path / f"{where}.onnx", where)
    with pytest.raises(ModelFileError, match=rf"^{where}\.onnx: ") as err:
        Forecaster.load(path)
    assert words in err.value.message and "export the model again with tsrnn" in err.value.message
    if where == "main":  # forecast and quantize stop at once, with one line, exit 2 and nothing written
        for args in (["forecast", path, "demo", "--out", tmp_path / "f.csv"], ["quantize", path]):
            out = subprocess.run(
                [sys.executable, "-m", "tsrnn", *map(str, args)], capture_output=True, text=True, timeout=60
            )
            assert out.returncode == 2 and out.stderr.count("\n") == 1 and words in out.stderr, out.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["main.onnx"]


def test_the_dispatch_if_of_tsrnn_files_still_loads(demo_model: Path) -> None:
    proto = onnx.load(str(demo_model))
    assert [n.op_type for n in proto.graph.node if n.op_type == "If"] == ["If"]  # the one batch-size dispatch
    assert forecast_file(Forecaster.load(demo_model), "demo").table.height == 12


def test_external_data_is_refused(demo_model: Path, tmp_path: Path) -> None:
    """Weights kept in a file beside the model: documented as never read, refused before ONNX Runtime opens it."""
    proto = onnx.load(str(demo_model))
    path = tmp_path / "external.onnx"
    onnx.save(
        proto,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    assert (tmp_path / "weights.bin").stat().st_size > 0
    with pytest.raises(ModelFileError, match=r"^external\.onnx: tensor '.+' keeps its data in another file"):
        Forecaster.load(path)
    out = subprocess.run([sys.executable, "-m", "tsrnn", "inspect", str(path)], capture_output=True, text=True)
    assert out.returncode == 2 and "keeps its data in another file (external data)" in out.stderr
    assert out.stdout == "" and "Traceback" not in out.stderr


def test_absurd_declared_shapes_are_refused(demo_model: Path, tmp_path: Path) -> None:
    """A 4 TB initializer or value declared in the graph: refused from its declaration, nothing allocated."""
    from onnx import TensorProto, helper

    proto = onnx.load(str(demo_model))
    huge = onnx.TensorProto(name="huge", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20])
    proto.graph.initializer.append(huge)
    onnx.save(proto, str(tmp_path / "init.onnx"))
    with pytest.raises(ModelFileError, match=r"^init\.onnx: tensor 'huge' declares 1,099,511,627,776 elements"):
        Forecaster.load(tmp_path / "init.onnx")
    proto = onnx.load(str(demo_model))
    proto.graph.value_info.append(helper.make_tensor_value_info("wide", TensorProto.FLOAT, ["batch", 1 << 40]))
    onnx.save(proto, str(tmp_path / "value.onnx"))
    with pytest.raises(ModelFileError, match=r"^value\.onnx: value 'wide' declares 1,099,511,627,776 elements"):
        Forecaster.load(tmp_path / "value.onnx")


def test_deeply_nested_metadata_is_damaged_not_a_bug(demo_model: Path, tmp_path: Path) -> None:
    text = json.dumps({"x": 1})[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = edited(demo_model, tmp_path / "deep.onnx", text)
    with pytest.raises(ModelFileError, match=r"^deep\.onnx: damaged model metadata: .*export the model again"):
        Forecaster.load(path)
    out = subprocess.run([sys.executable, "-m", "tsrnn", "inspect", str(path)], capture_output=True, text=True)
    assert out.returncode == 2 and "damaged model metadata" in out.stderr and "internal error" not in out.stderr


UNCHECKED = (
    "import sys, time\n"
    "import tsrnn.runtime.session, tsrnn.export.quantize\n"
    "tsrnn.runtime.session.check_model_bytes = lambda data, name: None  # let a looping graph reach ONNX Runtime\n"
    "def stuck(source, tmp, *a):\n"
    "    tmp.write_bytes(b'half')\n"
    "    time.sleep(600)\n"
    "tsrnn.export.quantize._quantize = stuck\n"
    "from tsrnn.cli.commands import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def _kill_when_temp_appears(args: list[str], folder: Path, sig: int) -> subprocess.CompletedProcess[str]:
    import time

    proc = subprocess.Popen([sys.executable, "-c", UNCHECKED, *args], stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # the temporary output exists once the run has started writing
            if any(p.name.endswith(".tmp") for p in folder.iterdir()) or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert any(p.name.endswith(".tmp") for p in folder.iterdir()), "the run never started its output"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(args, proc.returncode, "", err)


def test_forecast_time_limit_stops_a_run_inside_onnx_runtime(
    demo_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A graph that loops 2^62 times (let through the file check here) is stopped by --timeout: exit 2, one line,
    no temporary file, and an existing output left as it was."""
    from tsrnn.cli.commands import main

    monkeypatch.setattr("tsrnn.runtime.session.check_model_bytes", lambda data, name: None)
    path = _looping(demo_model, tmp_path / "spin.onnx", "main")
    out = tmp_path / "forecast.csv"
    out.write_text("old\n")
    assert main(["forecast", str(path), "demo", "--out", str(out), "--timeout", "1"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "tsrnn: error: the forecast was still running after --timeout 1s and was stopped; "
        f"{out} was not written; give it more time (--timeout 1h) or none (--timeout none)"
    ]
    assert out.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["forecast.csv", "spin.onnx"]


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_killed_forecast_leaves_no_temporary_file(demo_model: Path, tmp_path: Path, sig: str) -> None:
    import signal

    path = _looping(demo_model, tmp_path / "spin.onnx", "main")
    number = getattr(signal, sig)
    done = _kill_when_temp_appears(
        ["forecast", str(path), "demo", "--out", str(tmp_path / "f.csv"), "--timeout", "none"], tmp_path, number
    )
    assert done.returncode == 128 + number, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spin.onnx"]


def test_a_killed_quantize_leaves_no_temporary_file(demo_model: Path, tmp_path: Path) -> None:
    import shutil
    import signal

    shutil.copy(demo_model, tmp_path / "m.onnx")
    done = _kill_when_temp_appears(["quantize", str(tmp_path / "m.onnx")], tmp_path, signal.SIGTERM)
    assert done.returncode == 143 and "stopped by SIGTERM" in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_timeout_option_values(demo_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tsrnn.cli.commands import main
    from tsrnn.core.interrupt import DEFAULT_TIMEOUT, parse_timeout

    assert parse_timeout("600") == DEFAULT_TIMEOUT == parse_timeout("10m") and parse_timeout("90s") == 90
    assert parse_timeout("0") is None and parse_timeout("none") is None
    assert main(["forecast", str(demo_model), "demo", "--timeout", "soon"]) == 2
    assert capsys.readouterr().err.strip() == (
        "tsrnn: error: --timeout 'soon' is not a duration: write seconds (600) or 90s, 10m, 1h; 0 or none for no limit"
    )
    assert main(["forecast", str(demo_model), "demo", "--timeout", "0"]) == 0  # no limit
