"""Check that a model graph is one Keras could build, before any rule reads it.

A config whose calls name layers the model does not have, whose nodes form a cycle, whose
layer names collide, or whose BN settings are not numbers Keras accepts is not a model that
can be checked: it is refused with the first thing that is wrong (the file's one error line,
exit status 2), never linted half-built and never reported clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Real
from typing import Any

from ..errors import InputError
from ..graph import Layer


def validate(root: Layer) -> None:
    for layer in root.walk():
        if layer.is_bn:
            _bn_settings(layer)
        if isinstance(layer.config.get("layers"), list) and layer.children:
            _container(layer)


def _bn_settings(layer: Layer) -> None:
    config = layer.config
    momentum, epsilon, axis = config.get("momentum"), config.get("epsilon"), config.get("axis")
    if momentum is not None and not (_number(momentum) and 0 <= momentum <= 1):
        raise InputError(f"BN layer '{layer.path}': momentum {momentum!r} is not a number in [0, 1]")
    if epsilon is not None and not (_number(epsilon) and epsilon > 0):
        raise InputError(f"BN layer '{layer.path}': epsilon {epsilon!r} is not a positive number")
    if axis is not None and not (_integer(axis) or (isinstance(axis, list) and axis and all(map(_integer, axis)))):
        raise InputError(f"BN layer '{layer.path}': axis {axis!r} is not an integer or a list of integers")


def _number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and value == value  # NaN is no setting


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _container(model: Layer) -> None:
    """Names unique; every call takes layers of this model at nodes they have; no cycles."""
    by_name: dict[str, Layer] = {}
    for child in model.children:
        if child.name in by_name:
            raise InputError(f"model '{model.path}' has two layers named '{child.name}'")
        by_name[child.name] = child
    if all(child.wiring != "functional" for child in model.children):
        return  # Sequential: calls are implied by the order
    for child in model.children:
        for node in child.nodes:
            for name, node_index, tensor_index in node.refs:
                _reference(model, child, by_name, name, node_index, tensor_index)
    for key in ("input_layers", "output_layers"):
        for name, node_index, tensor_index in _endpoints(model.config.get(key)):
            _reference(model, None, by_name, name, node_index, tensor_index)
    _acyclic(model)


def _reference(model: Layer, caller: Layer | None, by_name: dict[str, Layer], name: str, node: Any, tensor: Any):
    who = f"layer '{caller.name}' of model '{model.path}' is called on" if caller else f"model '{model.path}' names"
    target = by_name.get(name)
    if target is None:
        raise InputError(f"{who} '{name}', which the model does not have")
    # An InputLayer records no node of its own and is referred to as node 0; Keras 2 counts
    # a nested model's own first node (its inputs to its outputs), which no config records.
    if not (_integer(node) and 0 <= node < max(1, len(target.nodes) + target.is_container)):
        raise InputError(f"{who} node {node!r} of '{name}', which has {len(target.nodes)} call nodes")
    if not (_integer(tensor) and tensor >= 0):
        raise InputError(f"{who} tensor {tensor!r} of '{name}', which is not a tensor index")


def _endpoints(value: Any) -> Iterator[tuple[str, Any, Any]]:
    """`input_layers` / `output_layers`: [[name, node, tensor], ...], or one [name, node,
    tensor] (Keras 3 writes a single input or output so)."""
    if not isinstance(value, list):
        return
    entries = [value] if value and isinstance(value[0], str) else value
    for entry in entries:
        if isinstance(entry, list) and entry and isinstance(entry[0], str):
            yield entry[0], *([*entry[1:3], 0, 0][:2])


def _acyclic(model: Layer) -> None:
    """Calls of one model form a DAG over (layer, node): Keras rebuilds them in order."""
    edges: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for child in model.children:
        for node in child.nodes:
            edges[(child.name, node.index)] = [(name, index) for name, index, _ in node.refs]
    state: dict[tuple[str, int], int] = {}  # 1: on the path being walked, 2: done
    for start in edges:
        if state.get(start):
            continue
        stack = [(start, iter(edges[start]))]
        state[start] = 1
        while stack:
            here, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                state[here] = 2
                stack.pop()
            elif state.get(step) == 1:
                raise InputError(f"model '{model.path}': the calls of '{step[0]}' form a cycle")
            elif step not in state:
                state[step] = 1
                stack.append((step, iter(edges.get(step, ()))))
