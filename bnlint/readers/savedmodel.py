"""Reader for tf_keras SavedModel directories, via `keras_metadata.pb`."""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import InputError
from ..graph import Layer, ModelGraph, generation_of
from ..limits import check_depth, read_capped
from ..weights import BNWeights
from . import protowire
from .files import open_inside
from .keras_config import build_root
from .weights_savedmodel import SavedModelWeights

METADATA = "keras_metadata.pb"
LAYER_IDENTIFIERS = {
    "_tf_keras_layer",
    "_tf_keras_network",
    "_tf_keras_model",
    "_tf_keras_sequential",
    "_tf_keras_rnn_layer",
    "_tf_keras_input_layer",
}


def read(path: str) -> ModelGraph:
    metadata_path = os.path.join(path, METADATA)
    if not os.path.exists(metadata_path):
        if os.path.exists(os.path.join(path, "fingerprint.pb")):
            raise InputError(
                "SavedModel without keras_metadata.pb (e.g. Keras 3 model.export()): "
                "only traced graphs are stored, no Keras architecture to lint"
            )
        raise InputError("SavedModel without keras_metadata.pb (TF < 2.5 or not Keras): not supported")
    with open_inside(path, metadata_path) as handle:
        nodes = parse_metadata(read_capped(handle, METADATA))
    root_meta = nodes.get("root")
    if root_meta is None:
        raise InputError("keras_metadata.pb has no root object")
    model_config = root_meta.get("model_config") or {
        "class_name": root_meta.get("class_name"),
        "config": root_meta.get("config"),
    }
    if not isinstance(model_config.get("config"), (dict, list)):
        raise InputError("subclassed model: its architecture is not serialized in the SavedModel")
    root = build_root(model_config)
    layers = _overlay_own_configs(root, nodes)
    keras_version = root_meta.get("keras_version")
    node_paths = {id(layer): node_path for node_path, layer in layers.items() if layer is not None}
    weights = SavedModelWeights(path, node_paths)
    return ModelGraph(
        path=path,
        kind="savedmodel",
        keras_version=keras_version,
        generation=generation_of(keras_version),
        root=root,
        training_config=root_meta.get("training_config"),
        optimizer_iterations=weights.optimizer_iterations(),
        weights=BNWeights(weights),
    )


def parse_metadata(data: bytes) -> dict[str, dict[str, Any]]:
    """node_path -> metadata JSON for every Keras object in `keras_metadata.pb`.

    SavedMetadata { repeated SavedObject nodes = 1; }
    SavedObject { int32 node_id = 2; string node_path = 3; string identifier = 4; string metadata = 5; }
    """
    nodes: dict[str, dict[str, Any]] = {}
    for number, wire, value in protowire.fields(data):
        if number != 1 or wire != protowire.LENGTH:
            continue
        node = {n: v for n, w, v in protowire.fields(value) if w == protowire.LENGTH}
        identifier = node.get(4, b"").decode("utf-8", "replace")
        if identifier not in LAYER_IDENTIFIERS:
            continue
        try:
            metadata = json.loads(node.get(5, b"{}"), object_hook=_untuple)
        except RecursionError:
            raise InputError("keras_metadata.pb holds JSON nested too deeply to read") from None
        except ValueError as exc:
            raise InputError(f"keras_metadata.pb holds invalid JSON ({exc})") from None
        nodes[node.get(3, b"").decode("utf-8", "replace")] = metadata
    check_depth(list(nodes.values()), "keras_metadata.pb")
    return nodes


def _untuple(value: dict[str, Any]) -> Any:
    """SavedModel metadata encodes tuples as {"class_name": "__tuple__", "items": [...]}."""
    if value.get("class_name") == "__tuple__" and isinstance(value.get("items"), list):
        return value["items"]
    return value


def node_layers(root: Layer, nodes: dict[str, dict[str, Any]]) -> dict[str, Layer | None]:
    """node path ("root.layer_with_weights-0...") -> the layer of `root`'s graph it holds."""
    resolved: dict[str, Layer | None] = {"root": root}

    def layer_for(node_path: str) -> Layer | None:
        if node_path not in resolved:
            parent_path, _, _ = node_path.rpartition(".")
            parent = layer_for(parent_path) if parent_path else None
            name = nodes.get(node_path, {}).get("name")
            resolved[node_path] = parent.find(name) if parent is not None and name else None
        return resolved[node_path]

    for node_path in nodes:
        layer_for(node_path)
    return resolved


def _overlay_own_configs(root: Layer, nodes: dict[str, dict[str, Any]]) -> dict[str, Layer | None]:
    """tf_keras loads a layer's settings from that layer's own node, not from the
    parent's copy (measured: editing only the parent's config has no effect).
    Returns node path -> layer (the weights are found by the same paths)."""
    resolved = node_layers(root, nodes)
    for node_path, meta in nodes.items():
        layer = resolved[node_path]
        own = meta.get("config")
        if layer is None or layer is root or not isinstance(own, dict):
            continue
        if layer.children:
            layer.config["trainable"] = meta.get("trainable", layer.config.get("trainable", True))
        else:
            layer.config = own
    return resolved
