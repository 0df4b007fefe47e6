"""Where HDF5-based model files keep a BN layer's variables.

- `.keras` (`model.weights.h5` in the archive): `layers/<snake(class)>[_k]/.../vars/<i>`,
  a path built from class names in config order (keras-formats.md §1), variables by position.
- legacy `.h5`: `model_weights/<top-level layer>/` lists `weight_names` such as
  `bn1/gamma:0`; a nested model keeps all its layers' weights in that one group.

Both open the HDF5 file on the first request and read only the datasets asked for.
"""

from __future__ import annotations

import contextlib
import zipfile
from typing import Any

import h5py

from ..errors import InputError
from ..graph import Layer
from ..weights import StoredArray, WeightError, WeightSource, variable_names
from .h5_common import chunked_attr, open_h5
from .keras_config import WRAPPER_KEYS, keras_snake

OPS_MODULE = "keras.src.ops"  # symbolic ops (x + 3) listed among layers, but without weights
# Keras 1 named BN variables `<layer>_running_mean` / `<layer>_running_std`; the latter
# held the variance (it was renamed moving_variance in Keras 2).
KERAS1_NAMES = {"running_mean": "moving_mean", "running_std": "moving_variance"}


def _stored(dataset: Any, where: str) -> StoredArray:
    if not isinstance(dataset, h5py.Dataset):
        raise WeightError(f"{where} is {'missing' if dataset is None else 'not a dataset'}")
    return StoredArray(tuple(dataset.shape), dataset.dtype, lambda: dataset[()])


class _LazyH5(WeightSource):
    """Opens the HDF5 file on first use and keeps it open until close()."""

    def __init__(self) -> None:
        self._files = contextlib.ExitStack()
        self._h5: h5py.File | None = None

    def _open_stream(self) -> Any:
        raise NotImplementedError

    def h5(self) -> h5py.File:
        if self._h5 is None:
            self._h5 = self._files.enter_context(open_h5(self._open_stream()))
        return self._h5

    def close(self) -> None:
        self._files.close()
        self._h5 = None


class KerasArchiveWeights(_LazyH5):
    """`model.weights.h5` inside a `.keras` zip, read in place (members are stored uncompressed)."""

    def __init__(self, path: str, root: Layer, member: str):
        super().__init__()
        self._path, self._member = path, member
        self._groups = vars_groups(root)

    def _open_stream(self) -> Any:
        from .keras_zip import open_member

        archive = self._files.enter_context(zipfile.ZipFile(self._path))
        return self._files.enter_context(open_member(self._path, archive, self._member))

    def stored(self, layer: Layer) -> dict[str, StoredArray]:
        where = self._groups.get(id(layer))
        if where is None:
            raise WeightError("its place in model.weights.h5 cannot be derived from the config")
        group = self.h5().get(f"{where}/vars")
        if not isinstance(group, h5py.Group):
            raise WeightError(f"model.weights.h5 has no group {where}/vars")
        saved_name = group.attrs.get("name")  # Keras 3 records the layer name: a check on the mapping
        if saved_name is not None and str(saved_name) != layer.name:
            raise WeightError(f"{where} holds layer '{saved_name}', not '{layer.name}'")
        names = variable_names(layer.config)
        count = len(group)
        if count != len(names):
            raise WeightError(f"{where}/vars holds {count} variables, the config implies {len(names)}")
        return {name: _stored(group.get(str(index)), f"{where}/vars/{index}") for index, name in enumerate(names)}


def vars_groups(root: Layer) -> dict[int, str]:
    """id(layer) -> its group in model.weights.h5 (keras saving_lib's naming)."""
    groups: dict[int, str] = {}

    def visit(container: Layer, prefix: str) -> None:
        used: dict[str, int] = {}
        for child in container.children:
            if child.class_name == "InputLayer" and child.wiring == "sequential":
                continue  # Sequential.layers leaves out its InputLayer
            if (child.module or "").startswith(OPS_MODULE):
                continue
            base = keras_snake(child.class_name)
            count = used.get(base, 0)
            used[base] = count + 1
            path = f"{prefix}layers/{base}" + (f"_{count}" if count else "")
            groups[id(child)] = path
            if child.children:
                place(child, path)

    def place(layer: Layer, path: str) -> None:
        if layer.children[0].wiring != "wrapper":
            visit(layer, path + "/")
            return
        keys = [k for k in WRAPPER_KEYS if isinstance(layer.config.get(k), dict)]
        for key, inner in zip(keys, layer.children, strict=False):  # children were built in WRAPPER_KEYS order
            groups[id(inner)] = f"{path}/{key}"
            if inner.children:
                place(inner, f"{path}/{key}")

    visit(root, "")
    return groups


class LegacyH5Weights(_LazyH5):
    """Weights of a legacy `.h5` model file."""

    def __init__(self, path: str):
        super().__init__()
        self._path = path
        self._names: dict[str, list[str]] = {}  # top-level group -> its weight_names, read once

    def _weight_names(self, top: str, group: h5py.Group) -> list[str]:
        # A nested base keeps all its weights in one group: without this cache, every one of
        # its BN layers re-read (and decoded) the whole list.
        if top not in self._names:
            self._names[top] = chunked_attr(group.attrs, "weight_names") or []
        return self._names[top]

    def _open_stream(self) -> Any:
        return self._path

    def stored(self, layer: Layer) -> dict[str, StoredArray]:
        top = _top_level(layer)
        weights = self.h5().get("model_weights")
        if not isinstance(weights, h5py.Group):
            raise InputError("the file has no model_weights group")
        group = weights.get(top.name)
        if not isinstance(group, h5py.Group):
            raise WeightError(f"model_weights has no group for layer '{top.name}'")
        found: dict[str, StoredArray] = {}
        for full in self._weight_names(top.name, group):
            variable = _variable_of(full, layer.name)
            if variable is None:
                continue
            if variable in found:
                raise WeightError(f"several layers named '{layer.name}' store weights in group '{top.name}'")
            found[variable] = _stored(group.get(full), f"model_weights/{top.name}/{full}")
        return found


def _top_level(layer: Layer) -> Layer:
    while layer.parent is not None and layer.parent.parent is not None:
        layer = layer.parent
    return layer


def _variable_of(weight_name: str, layer_name: str) -> str | None:
    """'bn1/gamma:0' (Keras 2), 'base/bn1/gamma', 'conv1/bn/gamma:0' (a layer named 'conv1/bn',
    as in tf_keras DenseNet) or 'bn1_running_std' (Keras 1) -> variable name."""
    name = weight_name.split(":")[0]
    scope, _, variable = name.rpartition("/")
    if scope:
        return variable if scope == layer_name or scope.endswith(f"/{layer_name}") else None
    prefix = f"{layer_name}_"
    if not name.startswith(prefix):
        return None
    variable = name[len(prefix) :]
    return KERAS1_NAMES.get(variable, variable)
