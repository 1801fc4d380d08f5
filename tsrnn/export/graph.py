"""ONNX graph surgery without torch: one model file that holds two graphs and picks one by batch size."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import onnx
from onnx import TensorProto, helper

PREFIXES = ("wide/", "native/")
"""Name prefixes of the large-batch (then) and small-batch (else) branches."""


def _renamed(graph: onnx.GraphProto, name: Callable[[str], str]) -> onnx.GraphProto:
    """A copy of `graph` with `name` applied to the graph's, its nodes', values' and initializers' names."""
    out = onnx.GraphProto()
    out.CopyFrom(graph)
    out.name = name(graph.name)
    for node in out.node:
        node.name = name(node.name)
        node.input[:] = [name(n) for n in node.input]
        node.output[:] = [name(n) for n in node.output]
    for init in out.initializer:
        init.name = name(init.name)
    for info in [*out.output, *out.value_info]:
        info.name = name(info.name)
    return out


def _as_branch(graph: onnx.GraphProto, prefix: str, outer: set[str]) -> onnx.GraphProto:
    """A copy of `graph` as an If branch: no inputs (it reads the outer ones), every other name prefixed."""
    branch = _renamed(graph, lambda n: n if (not n or n in outer) else prefix + n)
    del branch.input[:]
    del branch.value_info[:]  # intermediate shapes (the quantizer writes hundreds): ONNX Runtime infers them
    return branch


def dispatch_on_batch(small: onnx.ModelProto, large: onnx.ModelProto, threshold: int) -> onnx.ModelProto:
    """One model that runs `large`'s graph when the batch is >= threshold and `small`'s otherwise; both
    take the same inputs and return the same outputs."""
    inputs = {i.name for i in small.graph.input}
    outputs = [o.name for o in small.graph.output]
    nodes = [
        helper.make_node("Shape", ["history"], ["dispatch/shape"], start=0, end=1),
        helper.make_node("GreaterOrEqual", ["dispatch/shape", "dispatch/threshold"], ["dispatch/large"]),
        helper.make_node(
            "If",
            ["dispatch/large"],
            outputs,
            name="dispatch/if",
            then_branch=_as_branch(large.graph, PREFIXES[0], inputs),
            else_branch=_as_branch(small.graph, PREFIXES[1], inputs),
        ),
    ]
    graph = helper.make_graph(
        nodes,
        small.graph.name,
        list(small.graph.input),
        list(small.graph.output),
        [helper.make_tensor("dispatch/threshold", TensorProto.INT64, [1], [threshold])],
    )
    model = helper.make_model(graph, opset_imports=list(small.opset_import), ir_version=small.ir_version)
    model.producer_name, model.producer_version = small.producer_name, small.producer_version
    return model


def split_dispatch(model: onnx.ModelProto) -> tuple[onnx.ModelProto, onnx.ModelProto, int] | None:
    """The (small, large, threshold) that `dispatch_on_batch` joined, each a standalone model; None for a
    model without the dispatch."""
    nodes = {n.name: n for n in model.graph.node}
    node = nodes.get("dispatch/if")
    if node is None:
        return None
    threshold = int(
        onnx.numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == "dispatch/threshold"))[0]
    )
    branches = {a.name: a.g for a in node.attribute}
    out = []
    for key, prefix in (("else_branch", PREFIXES[1]), ("then_branch", PREFIXES[0])):
        graph = _renamed(branches[key], partial(_unprefixed, prefix))
        graph.input.extend(model.graph.input)
        standalone = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version)
        out.append(standalone)
    return out[0], out[1], threshold


def _unprefixed(prefix: str, name: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name
