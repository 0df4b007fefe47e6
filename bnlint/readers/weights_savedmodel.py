"""Where a tf_keras SavedModel keeps a BN layer's variables.

`keras_metadata.pb` names each layer by its object path (`root.layer_with_weights-0.
layer_with_weights-1`). The checkpoint's object graph (`_CHECKPOINTABLE_OBJECT_GRAPH`,
a TrackableObjectGraph) follows the same path to the layer's node, whose children
`gamma`, `beta`, `moving_mean`, ... carry the checkpoint key of each variable.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..graph import Layer
from ..weights import StoredArray, WeightError, WeightSource
from . import protowire
from .tf_bundle import DTYPES, Bundle

OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"


class SavedModelWeights(WeightSource):
    def __init__(self, directory: str, node_paths: dict[int, str]):
        self._directory = directory
        self._prefix = os.path.join(directory, "variables", "variables")
        self._node_paths = node_paths  # id(layer) -> keras_metadata node path
        self._bundle: Bundle | None = None
        self._nodes: list[tuple[dict[str, int], str | None]] | None = None

    def _open(self) -> tuple[Bundle, list[tuple[dict[str, int], str | None]]]:
        if self._bundle is None:
            if not os.path.exists(f"{self._prefix}.index"):
                raise InputError("the SavedModel has no variables/variables.index")
            self._bundle = Bundle(self._prefix, self._directory)
        if self._nodes is None:
            if OBJECT_GRAPH not in self._bundle.entries:
                raise InputError("the checkpoint has no object graph (not written by TF 2)")
            self._nodes = object_graph(self._bundle.read(OBJECT_GRAPH).ravel()[0])
        return self._bundle, self._nodes

    def stored(self, layer: Layer) -> dict[str, StoredArray]:
        node_path = self._node_paths.get(id(layer))
        if node_path is None:
            raise WeightError("keras_metadata.pb has no node for this layer")
        bundle, nodes = self._open()
        node = 0
        for name in node_path.split(".")[1:]:
            node = nodes[node][0].get(name, -1)
            if not 0 <= node < len(nodes):
                raise WeightError(f"the checkpoint's object graph has no path {node_path}")
        found = {}
        for variable, child in nodes[node][0].items():
            key = nodes[child][1] if 0 <= child < len(nodes) else None
            entry = bundle.entries.get(key) if key else None
            if entry is None:
                continue
            dtype = np.dtype(DTYPES.get(entry.dtype, "V1"))  # "V1": not a number, rejected as such
            found[variable] = StoredArray(entry.shape, dtype, lambda key=key: bundle.read(key))
        return found

    def optimizer_iterations(self) -> int | None:
        """The optimizer's step count, as the checkpoint stores it (Keras 2.11+ optimizers
        name it `_iterations`, the older ones `iter`); None when there is none."""
        try:
            bundle = self._bundle or Bundle(self._prefix, self._directory)
            self._bundle = bundle
        except (InputError, OSError):
            return None
        for name in ("_iterations", "iter"):
            key = f"optimizer/{name}/.ATTRIBUTES/VARIABLE_VALUE"
            entry = bundle.entries.get(key)
            if entry is not None and entry.shape == () and np.dtype(DTYPES.get(entry.dtype, "V1")).kind in "iu":
                return int(bundle.read(key))
        return None

    def close(self) -> None:
        if self._bundle is not None:
            self._bundle.close()
            self._bundle = None


def object_graph(data: bytes) -> list[tuple[dict[str, int], str | None]]:
    """Per node: (child local name -> node id, checkpoint key of its VARIABLE_VALUE or None).

    TrackableObjectGraph { repeated TrackableObject nodes = 1; }
    TrackableObject { repeated ObjectReference children = 1; repeated SerializedTensor attributes = 2; }
    ObjectReference { int32 node_id = 1; string local_name = 2; }
    SerializedTensor { string name = 1; string full_name = 2; string checkpoint_key = 3; }
    """
    nodes = []
    for number, wire, message in protowire.fields(data):
        if number != 1 or wire != protowire.LENGTH:
            continue
        children: dict[str, int] = {}
        key = None
        for field, kind, value in protowire.fields(message):
            if kind != protowire.LENGTH:
                continue
            parts = {n: v for n, _, v in protowire.fields(value)}
            if field == 1:
                children.setdefault(_text(parts.get(2, b"")), int(parts.get(1, 0)))
            elif field == 2 and parts.get(1) == b"VARIABLE_VALUE":
                key = _text(parts.get(3, b""))
        nodes.append((children, key))
    return nodes


def _text(value: int | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
