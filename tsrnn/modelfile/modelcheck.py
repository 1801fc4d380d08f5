"""Refuse a model file that is unsafe to run before ONNX Runtime opens it: weights kept in another file
(external data), graphs that loop, and tensors of absurd declared size.

tsrnn model files are self-contained and never loop. The file is read as protobuf's wire format by the small
reader below, so the forecasting side needs neither the onnx package nor torch. It walks the ModelProto: the
graph's nodes (with the graphs held in their attributes, at any depth), initializers, inputs, outputs and
value_info, the model-local functions and the training graphs. Refused:

- a `Loop`, `Scan` or `SequenceMap` node anywhere, and any other node that holds a subgraph, except `If` in the
  main graph (tsrnn's own files pick a graph by batch size with one `If`), whose branches must hold none;
- a tensor (initializer, attribute constant, sparse tensor) whose data lies in another file;
- a tensor or a declared input, output or intermediate value whose fixed dimensions multiply to more than
  MAX_ELEMENTS elements.
"""

from __future__ import annotations

from collections.abc import Iterator

from tsrnn.core.errors import ModelFileError

MAX_ELEMENTS = 1 << 31
"""The most elements one tensor of a model file may declare (8 GiB of float32; tsrnn's largest is far below)."""
LOOPS = frozenset({"Loop", "Scan", "SequenceMap"})
"""Operators that run a subgraph over and over."""
_MAX_TYPE_DEPTH = 32
"""Nesting of sequence, map and optional types beyond which a file counts as damaged."""
_ONNX_DOMAINS = ("", "ai.onnx")
_AGAIN = "export the model again with tsrnn"


class _DamagedError(Exception):
    """The bytes are not a well-formed protobuf message."""


class _RefusedError(Exception):
    """The model is well-formed but unsafe to run; the message says why."""


def check_model_bytes(data: bytes, name: str) -> None:
    """Raise ModelFileError naming `name` when the serialized model `data` is refused (see the module)."""
    try:
        _model(memoryview(data))
    except _DamagedError as exc:
        raise ModelFileError(f"{name}: not a readable ONNX model ({exc})") from None
    except _RefusedError as exc:
        raise ModelFileError(f"{name}: {exc}") from None


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(buf):
            raise _DamagedError(f"truncated number at byte {i}")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise _DamagedError(f"overlong number at byte {i}")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _fields(buf: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of each field of one message: an int for varints, the bytes of a
    length-delimited field, 0 for fixed-width fields (never needed here)."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        value: int | memoryview
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            length, i = _varint(buf, i)
            if i + length > n:
                raise _DamagedError(f"a field runs past the end of its message at byte {i}")
            value, i = buf[i : i + length], i + length
        elif wire in (1, 5):
            i, value = i + (8 if wire == 1 else 4), 0
            if i > n:
                raise _DamagedError("truncated fixed-width field")
        else:
            raise _DamagedError(f"wire type {wire} at byte {i}")
        if field == 0:
            raise _DamagedError("field number 0")
        yield field, wire, value


def _messages(buf: memoryview, wanted: int) -> Iterator[memoryview]:
    for field, wire, value in _fields(buf):
        if field == wanted and wire == 2:
            assert isinstance(value, memoryview)
            yield value


def _text(value: int | memoryview) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, memoryview) else ""


def _ints(wire: int, value: int | memoryview) -> list[int]:
    """A repeated int64 field's values in this occurrence (packed or not)."""
    if wire == 0:
        assert isinstance(value, int)
        return [_signed(value)]
    assert isinstance(value, memoryview)
    out, i = [], 0
    while i < len(value):
        v, i = _varint(value, i)
        out.append(_signed(v))
    return out


def _model(buf: memoryview) -> None:
    for field, wire, value in _fields(buf):
        if wire != 2:
            continue
        assert isinstance(value, memoryview)
        if field == 7:  # graph
            _graph(value, main=True)
        elif field == 25:  # functions
            _function(value)
        elif field == 20:  # training_info: initialization and algorithm graphs
            for f, w, g in _fields(value):
                if f in (1, 2) and w == 2:
                    assert isinstance(g, memoryview)
                    _graph(g, main=False)


def _graph(buf: memoryview, main: bool) -> None:
    for field, wire, value in _fields(buf):
        if wire != 2:
            continue
        assert isinstance(value, memoryview)
        if field == 1:
            _node(value, main)
        elif field == 5:
            _tensor(value)
        elif field == 15:
            _sparse(value)
        elif field in (11, 12, 13):  # input, output, value_info
            _value_info(value)


def _function(buf: memoryview) -> None:
    for field, wire, value in _fields(buf):
        if wire == 2 and isinstance(value, memoryview):
            if field == 7:
                _node(value, main=False)
            elif field == 12:
                _value_info(value)


def _node(buf: memoryview, main: bool) -> None:
    op_type = domain = name = ""
    graphs: list[memoryview] = []
    for field, _, value in _fields(buf):
        if field == 4:
            op_type = _text(value)
        elif field == 7:
            domain = _text(value)
        elif field == 3:
            name = _text(value)
        elif field == 5 and isinstance(value, memoryview):
            graphs += _attribute(value)
    who = f"a {op_type} node" + (f" ('{name}')" if name else "")
    if op_type in LOOPS:
        raise _RefusedError(
            f"the graph holds {who}, which repeats a subgraph and may run for ever; tsrnn model files never "
            f"loop: refused ({_AGAIN})"
        )
    if not graphs:
        return
    if not (op_type == "If" and domain in _ONNX_DOMAINS and main):
        raise _RefusedError(
            f"{who} holds a subgraph where tsrnn model files have none (control flow beyond the one `If` that "
            f"picks a graph by batch size): refused ({_AGAIN})"
        )
    for g in graphs:
        _graph(g, main=False)


def _attribute(buf: memoryview) -> list[memoryview]:
    """The graphs an attribute holds; its tensors and types are checked on the way."""
    graphs = []
    for field, wire, value in _fields(buf):
        if wire != 2 or not isinstance(value, memoryview):
            continue
        if field in (6, 11):  # g, graphs
            graphs.append(value)
        elif field in (5, 10):  # t, tensors
            _tensor(value)
        elif field in (22, 23):  # sparse_tensor, sparse_tensors
            _sparse(value)
        elif field in (14, 15):  # tp, type_protos
            _type(value, 0, "an attribute's type")
    return graphs


def _tensor(buf: memoryview) -> None:
    dims: list[int] = []
    name, external = "", False
    for field, wire, value in _fields(buf):
        if field == 1:
            dims += _ints(wire, value)
        elif field == 8:
            name = _text(value)
        elif field == 13 or (field == 14 and value == 1):  # external_data, or data_location EXTERNAL
            external = True
    who = f"tensor '{name}'" if name else "a tensor"
    if external:
        raise _RefusedError(
            f"{who} keeps its data in another file (external data); tsrnn model files are self-contained and "
            f"another file's data is never read: refused ({_AGAIN})"
        )
    _check_size(dims, who)


def _sparse(buf: memoryview) -> None:
    dims: list[int] = []
    for field, wire, value in _fields(buf):
        if field in (1, 2) and isinstance(value, memoryview):
            _tensor(value)
        elif field == 3:
            dims += _ints(wire, value)
    _check_size(dims, "a sparse tensor")


def _value_info(buf: memoryview) -> None:
    name = ""
    types = []
    for field, _, value in _fields(buf):
        if field == 1:
            name = _text(value)
        elif field == 2 and isinstance(value, memoryview):
            types.append(value)
    for t in types:
        _type(t, 0, f"value '{name}'" if name else "a value")


def _type(buf: memoryview, depth: int, who: str) -> None:
    if depth > _MAX_TYPE_DEPTH:
        raise _DamagedError(f"types of {who} nest more than {_MAX_TYPE_DEPTH} deep")
    for field, wire, value in _fields(buf):
        if wire != 2 or not isinstance(value, memoryview):
            continue
        if field in (1, 8):  # tensor_type, sparse_tensor_type: elem_type, shape
            for shape in _messages(value, 2):
                _shape(shape, who)
        elif field in (4, 9):  # sequence_type, optional_type: elem_type
            for inner in _messages(value, 1):
                _type(inner, depth + 1, who)
        elif field == 5:  # map_type: value_type
            for inner in _messages(value, 2):
                _type(inner, depth + 1, who)


def _shape(buf: memoryview, who: str) -> None:
    fixed: list[int] = []
    for dim in _messages(buf, 1):
        for field, wire, value in _fields(dim):
            if field == 1 and wire == 0 and _signed(int(value)) >= 0:  # a negative one reads as unknown
                fixed.append(_signed(int(value)))
    _check_size(fixed, who)


def _check_size(dims: list[int], who: str) -> None:
    count = 1
    for d in dims:
        if d < 0:
            raise _RefusedError(f"{who} declares a negative dimension ({d}); the file was edited or damaged: {_AGAIN}")
        count *= d
    if count > MAX_ELEMENTS:
        raise _RefusedError(
            f"{who} declares {count:,} elements (shape {dims}), more than a model file may hold "
            f"({MAX_ELEMENTS:,}); the file was edited or damaged: {_AGAIN}"
        )
