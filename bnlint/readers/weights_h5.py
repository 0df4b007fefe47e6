"""Where HDF5-based model files keep a BN layer's variables.

- `.keras` (`model.weights.h5` in the archive): `layers/<snake(class)>[_k]/.../vars/<i>`,
  a path built from class names in config order (keras-formats.md §1), variables by position.
- legacy `.h5`: `model_weights/<top-level layer>/` lists `weight_names` such as
  `bn1/gamma:0`; a nested model keeps all its layers' weights in that one group.

Both open the HDF5 file on the first request and read only the datasets asked for,
through h5py's low-level API: the high-level Group/Dataset objects cost more than the
read itself for a BN layer's few hundred floats (ResNet50's 212 BN arrays: ~2x faster).
"""

from __future__ import annotations

import contextlib
from typing import Any, BinaryIO

import h5py
import numpy as np
from h5py import h5a, h5d, h5g, h5o, h5s, h5t

from ..errors import InputError
from ..graph import Layer, weight_owner
from ..weights import StoredArray, WeightError, WeightSource, variable_names
from .h5_common import chunked_attr, internal, open_h5, optimizer_iterations_v3, text_attr
from .keras_config import WRAPPER_KEYS, keras_snake

OPS_MODULE = "keras.src.ops"  # symbolic ops (x + 3) listed among layers, but without weights
# Keras 1 named BN variables `<layer>_running_mean` / `<layer>_running_std`; the latter
# held the variance (it was renamed moving_variance in Keras 2).
KERAS1_NAMES = {"running_mean": "moving_mean", "running_std": "moving_variance"}


def _stored(parent: Any, name: str, where: str, raw: BinaryIO) -> StoredArray:
    """The dataset `name` below the low-level object `parent`, not yet read; `raw` is
    the HDF5 file's bytes, for reading a contiguous IEEE float dataset directly."""
    try:
        dataset = h5o.open(parent, name.encode())
    except KeyError:
        raise WeightError(f"{where} is missing") from None
    if not isinstance(dataset, h5d.DatasetID):
        raise WeightError(f"{where} is not a dataset")
    # Converting an HDF5 type to a numpy dtype costs more than the read; BN variables
    # are IEEE floats (float32 nearly always).
    file_type = dataset.get_type()
    ieee = next((dtype for h5type, dtype in _IEEE_FLOATS if file_type.equal(h5type)), None)
    dtype = ieee if ieee is not None else dataset.dtype
    shape = dataset.shape

    def read() -> np.ndarray:
        out = np.empty(shape, dtype)
        # A contiguous dataset's bytes are one run in the file: a plain read is ~2x
        # faster than HDF5's read machinery. Anything else (chunked, compact, external,
        # unallocated, other types) goes through HDF5.
        offset = dataset.get_offset() if ieee is not None else None
        if offset is not None and dataset.get_storage_size() == out.nbytes:
            raw.seek(offset)
            if raw.readinto(out) != out.nbytes:
                raise WeightError(f"{where} is truncated")
        else:  # (a contiguous dataset inside the file has an offset: only these can point out of it)
            internal(dataset, where)
            dataset.read(h5s.ALL, h5s.ALL, out)
        return out

    return StoredArray(shape, dtype, read)


def _group(parent: Any, path: str) -> Any:
    """A low-level group id, or None when `path` is missing or not a group."""
    try:
        group = h5o.open(parent, path.encode())
    except KeyError:
        return None
    return group if isinstance(group, h5g.GroupID) else None


class _Attributes:
    """What text_attr and chunked_attr ask of an object's attributes, through h5py's low-level API
    (its AttributeManager costs ~2x as much per read)."""

    def __init__(self, object_id: Any):
        self._id = object_id

    def __contains__(self, name: str) -> bool:
        return h5a.exists(self._id, name.encode())

    def open(self, name: str) -> Any:
        return h5a.open(self._id, name.encode())

    def __getitem__(self, name: str) -> np.ndarray:
        attr = h5a.open(self._id, name.encode())
        out = np.empty(attr.shape, dtype=attr.dtype)
        attr.read(out)
        return out


_IEEE_FLOATS = [
    (h5type, np.dtype(dtype))
    for h5type, dtype in (
        (h5t.IEEE_F32LE, "<f4"),
        (h5t.IEEE_F16LE, "<f2"),
        (h5t.IEEE_F64LE, "<f8"),
        (h5t.IEEE_F32BE, ">f4"),
        (h5t.IEEE_F16BE, ">f2"),
        (h5t.IEEE_F64BE, ">f8"),
    )
]


class _LazyH5(WeightSource):
    """Opens the HDF5 file on first use and keeps it open until close()."""

    def __init__(self) -> None:
        self._files = contextlib.ExitStack()
        self._opened: tuple[h5py.File, BinaryIO] | None = None

    def _open_streams(self) -> tuple[Any, BinaryIO]:
        """What h5py opens (a path or a file object), and a stream of the same bytes."""
        raise NotImplementedError

    def _file(self) -> tuple[h5py.File, BinaryIO]:
        if self._opened is None:
            source, raw = self._open_streams()
            self._opened = (self._files.enter_context(open_h5(source)), raw)
        return self._opened

    def close(self) -> None:
        self._files.close()
        self._opened = None


class KerasArchiveWeights(_LazyH5):
    """`model.weights.h5` inside a `.keras` zip, read in place (members are stored uncompressed)."""

    def __init__(self, path: str, root: Layer, member: str):
        super().__init__()
        self._path, self._member = path, member
        self._groups = vars_groups(root)

    def _open_streams(self) -> tuple[Any, BinaryIO]:
        import zipfile  # here: reading a legacy .h5 need not load it

        from .keras_zip import open_member

        archive = self._files.enter_context(zipfile.ZipFile(self._path))
        stream = self._files.enter_context(open_member(self._path, archive, self._member))
        return stream, stream  # h5py seeks before every read: sharing the stream is safe

    def optimizer_iterations(self) -> int | None:
        """None also when the member is unreadable: the architecture can still be linted,
        and the weight checks report the damage as a note."""
        try:
            h5, _ = self._file()
        except InputError:
            return None
        return optimizer_iterations_v3(h5)

    def stored(self, layer: Layer) -> dict[str, StoredArray]:
        where = self._groups.get(id(layer))
        if where is None:
            raise WeightError("its place in model.weights.h5 cannot be derived from the config")
        h5, raw = self._file()
        group = _group(h5.id, f"{where}/vars")
        if group is None:
            raise WeightError(f"model.weights.h5 has no group {where}/vars")
        saved_name = text_attr(_Attributes(group), "name")  # Keras 3 records the layer name: a check on the mapping
        if saved_name is not None and str(saved_name) != layer.name:
            raise WeightError(f"{where} holds layer '{saved_name}', not '{layer.name}'")
        names = variable_names(layer.config)
        count = group.get_num_objs()
        if count != len(names):
            raise WeightError(f"{where}/vars holds {count} variables, the config implies {len(names)}")
        return {name: _stored(group, str(index), f"{where}/vars/{index}", raw) for index, name in enumerate(names)}


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
        self._model_weights: Any = None
        self._names: dict[str, list[str]] = {}  # top-level group -> its weight_names, read once
        self._owners: dict[str, set[str]] = {}  # top-level group -> names of the layers inside it

    def _weight_names(self, top: str, group: Any) -> list[str]:
        # A nested base keeps all its weights in one group: without this cache, every one of
        # its BN layers re-read (and decoded) the whole list.
        if top not in self._names:
            self._names[top] = chunked_attr(_Attributes(group), "weight_names") or []
        return self._names[top]

    def _layer_names(self, top: Layer) -> set[str]:
        """The names of the layers whose weights share `top`'s group, found once per group."""
        if top.name not in self._owners:
            self._owners[top.name] = {layer.name for layer in top.walk()}
        return self._owners[top.name]

    def close(self) -> None:
        super().close()
        self._model_weights = None

    def _open_streams(self) -> tuple[Any, BinaryIO]:
        return self._path, self._files.enter_context(open(self._path, "rb", buffering=0))

    def stored(self, layer: Layer) -> dict[str, StoredArray]:
        top = _top_level(layer)
        h5, raw = self._file()
        if self._model_weights is None:
            self._model_weights = _group(h5.id, "model_weights")
            if self._model_weights is None:
                raise InputError("the file has no model_weights group")
        group = _group(self._model_weights, top.name)
        if group is None:
            raise WeightError(f"model_weights has no group for layer '{top.name}'")
        found: dict[str, StoredArray] = {}
        names = self._layer_names(top)
        for full in self._weight_names(top.name, group):
            variable = _variable_of(full, layer.name, names, bare=top is layer)
            if variable is None:
                continue
            if variable in found:
                raise WeightError(f"several layers named '{layer.name}' store weights in group '{top.name}'")
            found[variable] = _stored(group, full, f"model_weights/{top.name}/{full}", raw)
        return found


def _top_level(layer: Layer) -> Layer:
    while layer.parent is not None and layer.parent.parent is not None:
        layer = layer.parent
    return layer


# BN variable names, as early Keras 3 releases wrote them without a scope (see _variable_of).
BN_VARIABLES = {"gamma", "beta", "moving_mean", "moving_variance", "moving_stddev", "renorm_mean", "renorm_stddev"}


def _variable_of(weight_name: str, layer_name: str, names: set[str], bare: bool) -> str | None:
    """The variable a stored weight name holds for this layer, or None if it is another's
    (`names`: the layers sharing the group): 'bn1/gamma:0' (Keras 2), 'bn1/gamma' (Keras >= 3.3),
    'seq/bn1/gamma' (inside a Sequential), 'block_1/bn1/gamma' (a name scope of
    keras.applications), 'conv1/bn/gamma:0' (a layer named 'conv1/bn', tf_keras DenseNet),
    'gamma' (Keras 3.0-3.2: bare, in the layer's own top-level group) and 'bn1_running_std'
    (Keras 1)."""
    name = weight_name.split(":")[0]
    scope, _, variable = name.rpartition("/")
    if scope:
        return variable if weight_owner(scope, names) == layer_name else None
    if bare and name in BN_VARIABLES:
        return name
    prefix = f"{layer_name}_"
    if not name.startswith(prefix):
        return None
    variable = name[len(prefix) :]
    return KERAS1_NAMES.get(variable, variable)
