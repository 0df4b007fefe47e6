"""Turn a serialized Keras model config (Keras 1/2/3 styles) into a model graph.

Every reader ends here: `.keras`, `.h5` and SavedModel files all store the same
JSON config, only in different places.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ..errors import InputError
from ..graph import CONTAINER_CLASSES, CallNode, Layer, path_segment
from ..limits import Count, current
from .validate import validate

WRAPPER_KEYS = ("layer", "forward_layer", "backward_layer")


def build_root(model_config: Any, checked: bool = True) -> Layer:
    """The model graph of a config, checked as it is built (see validate.py): a malformed
    config is refused with the one thing that is wrong, never linted half-built. (`checked`
    False: a config bnlint wrote itself from a script, with settings it could not work out.)"""
    if not isinstance(model_config, dict) or not isinstance(model_config.get("class_name"), str):
        raise InputError("model config is not a Keras layer config (no class_name)")
    root = _build(model_config, parent=None, wiring=None, count=Count(current()))
    if checked:
        validate(root)
    return root


@functools.lru_cache(maxsize=1024)  # a few distinct class names, hundreds of layers
def keras_snake(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: BatchNormalization -> batch_normalization, ReLU -> re_lu.
    Keras names unnamed layers and weight groups with it."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _build(entry: dict[str, Any], parent: Layer | None, wiring: str | None, count: Count) -> Layer:
    class_name = str(entry.get("class_name", "?"))
    config = entry.get("config")
    if isinstance(config, list):  # Keras < 2.2.3 stored a Sequential's layers as a bare list
        config = {"name": entry.get("name", keras_snake(class_name)), "layers": config}
    if not isinstance(config, dict):
        config = {}
    name = str(entry.get("name") or config.get("name") or keras_snake(class_name))
    layer = Layer(
        name=name,
        class_name=class_name,
        config=config,
        module=_text(entry.get("module")),
        registered_name=_text(entry.get("registered_name")),
        parent=parent,
        wiring=wiring,
        raw=entry,
    )
    layer.path = f"{parent.path}/{path_segment(name)}" if parent else path_segment(name)
    layer.nodes = parse_nodes(entry.get("inbound_nodes"))
    count.add(layer)

    sublayers = config.get("layers")
    if layer.class_name in CONTAINER_CLASSES and "layers" in config and not isinstance(sublayers, list):
        raise InputError(f"model '{layer.path}': its layers are {type(sublayers).__name__}, not a list of layers")
    if isinstance(sublayers, list):
        for position, sub in enumerate(sublayers):
            if not isinstance(sub, dict) or not isinstance(sub.get("class_name"), str):
                raise InputError(f"model '{layer.path}': layer #{position + 1} is not a layer config (no class_name)")
        functional = any("inbound_nodes" in e for e in sublayers)
        child_wiring = "functional" if functional else "sequential"
        layer.children = [_build(e, layer, child_wiring, count) for e in sublayers]
        if not functional:
            _chain_sequential(layer.children)
    else:
        for key in WRAPPER_KEYS:
            inner = config.get(key)
            if isinstance(inner, dict) and "class_name" in inner:
                layer.children.append(_build(inner, layer, "wrapper", count))
    return layer


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _chain_sequential(children: list[Layer]) -> None:
    """A Sequential records no nodes: each layer is called once on the previous one."""
    previous: list[str] = []
    for child in children:
        if child.class_name == "InputLayer":
            previous = [child.name]
            continue
        child.nodes = [CallNode(index=0, kwargs={}, inbound=previous)]
        previous = [child.name]


def parse_nodes(inbound_nodes: Any) -> list[CallNode]:
    """Parse `inbound_nodes` in any of the three layouts Keras has written.

    Keras 1/2: a list of nodes, each a list of `[name, node_index, tensor_index(, kwargs)]`.
    Keras 3: a list of `{"args": [...], "kwargs": {...}}` with `keras_history` references.
    """
    if not isinstance(inbound_nodes, list):
        return []
    nodes = []
    for index, node in enumerate(inbound_nodes):
        if isinstance(node, dict):
            kwargs = node.get("kwargs") if isinstance(node.get("kwargs"), dict) else {}
            refs = _history(node.get("args")) + _history(kwargs)
            nodes.append(CallNode(index, _plain_kwargs(kwargs), [ref[0] for ref in refs], refs))
        elif isinstance(node, list):
            kwargs: dict[str, Any] = {}
            refs = []
            for item in node:
                if isinstance(item, list) and item and isinstance(item[0], str):
                    refs.append(_ref(item))
                    if len(item) > 3 and isinstance(item[3], dict):
                        kwargs.update(item[3])
            nodes.append(CallNode(index, kwargs, [ref[0] for ref in refs], refs))
    return nodes


def _ref(history: list[Any]) -> tuple[str, Any, Any]:
    """[layer name, node index, tensor index] as a config records an input (Keras 1 may
    leave the indices out)."""
    padded = [*history[:3], 0, 0]
    return str(history[0]), padded[1], padded[2]


def _history(value: Any) -> list[tuple[str, Any, Any]]:
    """The layers (with node and tensor index) referenced by Keras 3 `__keras_tensor__`
    entries, in order."""
    found: list[tuple[str, Any, Any]] = []
    _collect_history(value, found)
    return found


def _collect_history(value: Any, found: list[tuple[str, Any, Any]]) -> None:
    # One list for the whole walk: call arguments nest deeply, and every layer has some.
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            config = value.get("config")
            history = config.get("keras_history") if isinstance(config, dict) else None
            if isinstance(history, list) and history:
                found.append(_ref(history))
                return
        items = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return
    for item in items:
        if isinstance(item, (dict, list)):
            _collect_history(item, found)


def _plain_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Drop tensor-valued kwargs: only literal settings such as `training` matter here."""
    return {k: v for k, v in kwargs.items() if not _history(v)}
