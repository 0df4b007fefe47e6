"""Writer for legacy `.h5` model files (Keras 3 and tf_keras): copy the file, then edit
the copy in place with h5py: `model_config`, each layer group's `weight_names` order
(legacy_order.py), and the weight arrays a weight fix changes."""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np

from ..diagnostics import Edit
from ..edits import Document, Rules, Unsupported
from ..errors import InputError
from ..graph import Generation, Layer, generation_of
from ..readers.h5_common import chunked_attr, internal, open_h5, text_attr
from ..readers.keras_config import build_root
from . import legacy_order
from .copying import copy_file
from .model_file import ModelFile
from .weight_ops import VariableStore, layout_changed


class H5File(ModelFile):
    def __init__(self, path: str):
        super().__init__(path)
        with open_h5(path) as h5:
            raw = text_attr(h5.attrs, "model_config")
            self.keras_version = text_attr(h5.attrs, "keras_version")
        if raw is None:
            raise InputError("HDF5 file holds no model_config: nothing to fix")
        self.original = json.loads(raw)  # parsed twice: faster than a deep copy, and one stays pristine
        self.rules = Rules(keras3=generation_of(self.keras_version) is Generation.KERAS3)
        self.before = build_root(self.original)  # the graph as stored, built once
        self.documents = [Document(json.loads(raw), self.before.path)]

    def write(self, temp: str, weight_edits: list[Edit]) -> None:
        copy_file(self.path, temp)
        before, after = self.before, build_root(self.documents[0].entry)
        with open_h5(temp, "r+") as h5:
            _set_string(h5.attrs, "model_config", json.dumps(self.documents[0].entry))
            weights = h5["model_weights"] if isinstance(h5.get("model_weights"), h5py.Group) else h5
            trusted = _predictable_groups(weights, before, self.rules.keras3)
            if weight_edits or layout_changed(before, after):
                LegacyStore(weights, before, after).apply(weight_edits)
            _reorder(weights, after, trusted, self.rules.keras3)


def _string_dtype(attrs: Any, name: str, values: list[bytes]) -> Any:
    """The attribute's own string type, widened if it is fixed-length (old h5py wrote
    `S<n>`: a longer config must not be cut off)."""
    dtype = attrs.get_id(name).dtype if name in attrs else h5py.string_dtype("ascii")
    info = h5py.check_string_dtype(dtype)
    if info is not None and info.length is not None:
        return np.dtype(f"S{max([len(v) for v in values] + [1])}")
    return dtype


def _set_string(attrs: Any, name: str, value: str) -> None:
    """Replace a string attribute keeping its HDF5 type (variable-length, as Keras wrote it)."""
    data = value.encode("utf-8")
    attrs.create(name, data, dtype=_string_dtype(attrs, name, [data]))


def _names(group: h5py.Group) -> list[str]:
    return chunked_attr(group.attrs, "weight_names") or []


def _set_names(group: h5py.Group, names: list[str]) -> None:
    """Write `weight_names` back in the form it had: one attribute, or chunks name0, name1, ..."""
    attrs, encoded = group.attrs, [n.encode() for n in names]
    if "weight_names" in attrs or "weight_names0" not in attrs:
        dtype = _string_dtype(attrs, "weight_names", encoded)
        attrs.create("weight_names", np.array(encoded, dtype=dtype), dtype=dtype)
        return
    chunks = 0
    while f"weight_names{chunks}" in attrs:
        chunks += 1
    dtype = _string_dtype(attrs, "weight_names0", encoded)
    for index, part in enumerate(np.array_split(np.array(encoded, dtype=object), chunks)):
        attrs.create(f"weight_names{index}", np.array(list(part), dtype=dtype), dtype=dtype)


def _predictable_groups(weights: h5py.Group, root: Layer, keras3: bool) -> set[str]:
    """The layer groups whose weight_names order bnlint reproduces from the original config."""
    trusted = set()
    for top in root.children:
        group = weights.get(top.name)
        if isinstance(group, h5py.Group):
            names = _names(group)
            try:
                if legacy_order.predict(top, names, keras3) == names:
                    trusted.add(top.name)
            except Unsupported:
                pass
    return trusted


def _reorder(weights: h5py.Group, root: Layer, trusted: set[str], keras3: bool) -> None:
    """Put each layer group's weight_names in the order Keras will expect for the new config.

    A group is only reordered if bnlint reproduced the order Keras wrote for the old
    config; otherwise its model of Keras is wrong for this file and the fix is refused
    rather than risking silently scrambled weights.
    """
    for top in root.children:
        group = weights.get(top.name)
        if not isinstance(group, h5py.Group):
            continue
        names = _names(group)
        try:
            wanted = legacy_order.predict(top, names, keras3)
        except Unsupported:
            wanted = None
        if wanted == names:
            continue
        if wanted is None or top.name not in trusted:
            raise InputError(
                f"cannot predict Keras' weight order for layer '{top.name}' in this file: the fix "
                "would scramble its weights, so nothing was written"
            )
        _set_names(group, wanted)


class LegacyStore(VariableStore):
    """Variables in a legacy `.h5`: `model_weights/<top layer>/<weight name>`, found by name."""

    def __init__(self, weights: h5py.Group, before: Layer, after: Layer):
        super().__init__(before, after)
        self.weights = weights

    def _group(self, layer: Layer) -> h5py.Group:
        top = layer
        while top.parent is not None and top.parent.parent is not None:
            top = top.parent
        group = self.weights.get(top.name) if top.parent is not None else None
        if not isinstance(group, h5py.Group):
            raise Unsupported(f"no weights group for '{layer.path}'")
        return group

    def _own(self, layer: Layer) -> list[str]:
        top = layer
        while top.parent is not None and top.parent.parent is not None:
            top = top.parent
        return [n for n in _names(self._group(layer)) if legacy_order.owns(layer, n, top)]

    def _name(self, layer: Layer, var: str) -> str:
        found = [n for n in self._own(layer) if legacy_order.split_name(n)[1] == var]
        if len(found) != 1:
            raise Unsupported(f"'{layer.path}' has {'no' if not found else 'an ambiguous'} weight '{var}' in this file")
        return found[0]

    def read(self, layer: Layer, var: str) -> np.ndarray:
        return internal(self._group(layer)[self._name(layer, var)])[()]

    def write(self, layer: Layer, var: str, value: np.ndarray) -> None:
        internal(self._group(layer)[self._name(layer, var)])[...] = value

    def add(self, layer: Layer, var: str, value: np.ndarray) -> None:
        """A dataset named like its siblings (`bn1/moving_variance:0` -> `bn1/<var>:0`), listed
        after the layer's last weight; _reorder then puts it where Keras expects it."""
        group, own = self._group(layer), self._own(layer)
        if not own:
            raise Unsupported(f"'{layer.path}' has no weights in this file to add '{var}' beside")
        last = own[-1]
        stem, _, tail = last.partition(":")
        name = stem.rsplit("/", 1)[0] + "/" + var + (":" + tail if tail else "")
        group.create_dataset(name, data=value)
        names = _names(group)
        names.insert(names.index(last) + 1, name)
        _set_names(group, names)

    def delete(self, layer: Layer, var: str) -> None:
        group, name = self._group(layer), self._name(layer, var)
        del group[name]
        _set_names(group, [n for n in _names(group) if n != name])

    def count(self, layer: Layer) -> int:
        return len(self._own(layer))
