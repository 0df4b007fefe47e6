"""Turn a serialized Keras model config (Keras 1/2/3 styles) into a model graph.

Every reader ends here: `.keras`, `.h5` and SavedModel files all store the same
JSON config, only in different places.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ..errors import InputError
from ..graph import CallNode, Layer, path_segment

WRAPPER_KEYS = ("layer", "forward_layer", "backward_layer")


def build_root(model_config: Any) -> Layer:
    if not isinstance(model_config, dict) or "class_name" not in model_config:
        raise InputError("model config is not a Keras layer config (no class_name)")
    return _build(model_config, parent=None, wiring=None)


@functools.lru_cache(maxsize=1024)  # a few distinct class names, hundreds of layers
def keras_snake(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: BatchNormalization -> batch_normalization, ReLU -> re_lu.
    Keras names unnamed layers and weight groups with it."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _build(entry: dict[str, Any], parent: Layer | None, wiring: str | None) -> Layer:
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
        module=entry.get("module"),
        registered_name=entry.get("registered_name"),
        parent=parent,
        wiring=wiring,
        raw=entry,
    )
    layer.path = f"{parent.path}/{path_segment(name)}" if parent else path_segment(name)
    layer.nodes = parse_nodes(entry.get("inbound_nodes"))

    sublayers = config.get("layers")
    if isinstance(sublayers, list):
        entries = [e for e in sublayers if isinstance(e, dict)]
        functional = any("inbound_nodes" in e for e in entries)
        child_wiring = "functional" if functional else "sequential"
        layer.children = [_build(e, layer, child_wiring) for e in entries]
        if not functional:
            _chain_sequential(layer.children)
    else:
        for key in WRAPPER_KEYS:
            inner = config.get(key)
            if isinstance(inner, dict) and "class_name" in inner:
                layer.children.append(_build(inner, layer, "wrapper"))
    return layer


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
            inbound = _history_names(node.get("args")) + _history_names(kwargs)
            nodes.append(CallNode(index, _plain_kwargs(kwargs), inbound))
        elif isinstance(node, list):
            kwargs: dict[str, Any] = {}
            inbound = []
            for item in node:
                if isinstance(item, list) and item and isinstance(item[0], str):
                    inbound.append(item[0])
                    if len(item) > 3 and isinstance(item[3], dict):
                        kwargs.update(item[3])
            nodes.append(CallNode(index, kwargs, inbound))
    return nodes


def _history_names(value: Any) -> list[str]:
    """Names of the layers referenced by Keras 3 `__keras_tensor__` entries, in order."""
    found: list[str] = []
    _collect_history(value, found)
    return found


def _collect_history(value: Any, found: list[str]) -> None:
    # One list for the whole walk: call arguments nest deeply, and every layer has some.
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            config = value.get("config")
            history = config.get("keras_history") if isinstance(config, dict) else None
            if isinstance(history, list) and history:
                found.append(str(history[0]))
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
    return {k: v for k, v in kwargs.items() if not _history_names(v)}
