"""Writer for tf_keras SavedModel directories: only `keras_metadata.pb` changes.

tf_keras revives each layer from the metadata of its own node, and the calls of a
nested model from its parent network's config (both measured, keras-formats.md §5), so
an edit is made in every JSON document that holds its target: the root's `config` and
`model_config`, each nested model's node, and the layer's own node. The protobuf is
re-encoded field by field; nodes whose JSON did not change keep their exact bytes.
Weights live in a TensorFlow checkpoint, which bnlint does not rewrite.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Edit
from ..edits import Document, Rules, Unsupported
from ..errors import InputError
from ..limits import read_capped
from ..readers import protowire
from ..readers.files import open_inside
from ..readers.keras_config import build_root
from ..readers.savedmodel import LAYER_IDENTIFIERS, METADATA, node_layers
from .copying import copy_file
from .model_file import ModelFile

NODE, PATH, IDENTIFIER, JSON = 1, 3, 4, 5


@dataclass
class _Node:
    fields: list[tuple[int, int, Any]]  # this SavedObject's own fields, in wire order
    path: str
    meta: dict[str, Any] | None  # the parsed JSON of a Keras node (None for other objects)
    original: dict[str, Any] | None


class SavedModelDir(ModelFile):
    is_dir = True

    def __init__(self, path: str):
        super().__init__(path)
        with open_inside(path, os.path.join(path, METADATA)) as handle:
            self.top = _parse(read_capped(handle, METADATA))
        nodes = {n.path: n for n in self.top if isinstance(n, _Node) and n.meta is not None}
        root = nodes.get("root")
        if root is None or not isinstance(root.meta.get("model_config"), dict):
            raise InputError("keras_metadata.pb has no root model config: nothing to fix")
        main = root.meta["model_config"]
        graph_root = build_root(main)
        self.documents = [Document(main, graph_root.path)]
        if isinstance(root.meta.get("config"), dict):
            self.documents.append(Document(_entry(root.meta), graph_root.path))
        layers = node_layers(graph_root, {path: node.meta for path, node in nodes.items()})
        for path, node in nodes.items():
            layer = layers.get(path)
            if path != "root" and layer is not None and isinstance(node.meta.get("config"), dict):
                self.documents.append(Document(_entry(node.meta), layer.path))
        self.rules = Rules(keras3=False, restructure=False)

    def check_weight_edit(self, edit: Edit) -> None:
        raise Unsupported(
            "SavedModel weights live in a TensorFlow checkpoint, which bnlint does not rewrite "
            "(re-save the model as .keras or .h5 and fix that file)"
        )

    def write(self, temp: str, weight_edits: list[Edit]) -> None:
        for name in os.listdir(self.path):
            source, target = os.path.join(self.path, name), os.path.join(temp, name)
            if os.path.islink(source):  # copied as a link, never read through (it may point anywhere)
                os.symlink(os.readlink(source), target)
            elif os.path.isdir(source):
                shutil.copytree(source, target, symlinks=True, copy_function=_copy_with_stat)
            elif name != METADATA:
                _copy_with_stat(source, target)
        with open(os.path.join(temp, METADATA), "wb") as out:
            out.write(self.encode())
        shutil.copystat(os.path.join(self.path, METADATA), os.path.join(temp, METADATA))

    def encode(self) -> bytes:
        parts = []
        for item in self.top:
            if isinstance(item, _Node):
                if item.meta is not None and item.meta != item.original:
                    _sync_trainable(item.meta)
                    item.fields = [
                        (n, w, json.dumps(item.meta).encode() if n == JSON else v) for n, w, v in item.fields
                    ]
                parts.append(_field(NODE, protowire.LENGTH, b"".join(_field(*f) for f in item.fields)))
            else:
                parts.append(_field(*item))
        return b"".join(parts)


def _entry(meta: dict[str, Any]) -> dict[str, Any]:
    """A node's metadata seen as a layer entry; `config` is shared, so edits land in it."""
    return {"class_name": meta.get("class_name"), "config": meta["config"]}


def _sync_trainable(meta: dict[str, Any]) -> None:
    """A node records `trainable` twice: at its top level and in its config."""
    config = meta.get("config")
    if isinstance(config, dict) and "trainable" in config and "trainable" in meta:
        meta["trainable"] = config["trainable"]


def _parse(data: bytes) -> list[_Node | tuple[int, int, Any]]:
    top: list[_Node | tuple[int, int, Any]] = []
    for number, wire, value in protowire.fields(data):
        if number != NODE or wire != protowire.LENGTH:
            top.append((number, wire, value))
            continue
        fields = list(protowire.fields(value))
        own = {n: v for n, w, v in fields if w == protowire.LENGTH}
        meta = None
        if own.get(IDENTIFIER, b"").decode("utf-8", "replace") in LAYER_IDENTIFIERS and JSON in own:
            try:
                meta = json.loads(own[JSON])
            except ValueError as exc:
                raise InputError(f"keras_metadata.pb holds invalid JSON ({exc})") from None
        path = own.get(PATH, b"").decode("utf-8", "replace")
        top.append(_Node(fields, path, meta, copy.deepcopy(meta)))
    return top


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire: int, value: Any) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == protowire.VARINT:
        return key + _varint(value)
    if wire == protowire.LENGTH:
        return key + _varint(len(value)) + value
    return key + value


def _copy_with_stat(source: str, target: str) -> None:
    """shutil.copy2 through bnlint's copier: the directory is replaced as it was."""
    copy_file(source, target)
    shutil.copystat(source, target)
