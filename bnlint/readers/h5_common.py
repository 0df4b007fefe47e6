"""HDF5 helpers shared by the `.h5` reader and the `.keras` weights member."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np
from h5py import h5d, h5l

from ..errors import InputError
from ..limits import current


@contextlib.contextmanager
def open_h5(source: Any, mode: str = "r") -> Iterator[h5py.File]:
    try:
        handle = h5py.File(source, mode)
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable HDF5 file ({_short(exc)})") from None
    with handle:
        check_links(handle)
        try:
            yield handle
        except (RuntimeError, OSError) as exc:  # how h5py reports a corrupt object, read lazily
            raise InputError(f"corrupt HDF5 file ({_short(exc)})") from None


def check_links(h5: h5py.File) -> None:
    """Refuse a file with soft or external links: Keras writes neither, and following one
    would read (or, when fixing, write) another file or an object the path does not name.
    One walk over the links: ~1.5 ms for ResNet50's 600."""
    found: list[str] = []

    def visit(name: bytes, info: Any) -> int | None:
        if info.type != h5l.TYPE_HARD:
            found.append(name.decode(errors="replace"))
            return 1  # stop: one is enough to refuse
        return None

    try:
        h5.id.links.visit(visit, info=True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(f"HDF5 file structure cannot be walked ({_short(exc)})") from None
    if found:
        raise InputError(f"HDF5 file has a soft or external link at '{found[0]}': links are never followed")


def internal(dataset: Any, where: str | None = None) -> Any:
    """`dataset` (a Dataset or its low-level id), refused if its data lives outside the file
    (external storage, a virtual dataset mapping other files): reading it, or writing it
    when fixing, would touch those files."""
    dataset_id = dataset.id if isinstance(dataset, h5py.Dataset) else dataset
    plist = dataset_id.get_create_plist()
    if plist.get_layout() == h5d.VIRTUAL or plist.get_external_count():
        where = where or getattr(dataset, "name", "a dataset")
        raise InputError(f"{where} keeps its data outside the file (external or virtual dataset): not read")
    return dataset


def _short(exc: Exception) -> str:
    return str(exc).split("(")[0].strip().rstrip(".") or type(exc).__name__


def check_attr_size(attrs: Any, name: str) -> None:
    """Refuse an attribute whose declared shape and type are larger than the limit before it
    is read: a corrupt header can declare billions of elements."""
    attr = attrs.get_id(name) if isinstance(attrs, h5py.AttributeManager) else attrs.open(name)
    size = int(np.prod(attr.shape, dtype=np.float64)) * attr.dtype.itemsize if attr.shape else attr.dtype.itemsize
    if size > current().member_bytes:
        raise InputError(f"HDF5 attribute '{name}' declares {size:,} bytes (limit max-member-mib)")


def text_attr(attrs: Any, name: str) -> str | None:
    """An attribute as `str`: h5py 3 returns str, files written by older h5py give bytes."""
    if name not in attrs:
        return None
    check_attr_size(attrs, name)
    value = attrs[name]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def chunked_attr(attrs: Any, name: str) -> list[str] | None:
    """A list attribute that large files split into `name0`, `name1`, ... chunks."""
    if name in attrs:
        check_attr_size(attrs, name)
        parts = [attrs[name]]
    else:
        parts, index = [], 0
        while f"{name}{index}" in attrs:
            check_attr_size(attrs, f"{name}{index}")
            parts.append(attrs[f"{name}{index}"])
            index += 1
        if not parts:
            return None
    values = []
    for part in parts:
        for item in np.asarray(part).ravel().tolist():
            values.append(item.decode("utf-8") if isinstance(item, bytes) else str(item))
    return values


def scalar_int(dataset: Any) -> int | None:
    if isinstance(dataset, h5py.Dataset) and dataset.shape == () and dataset.dtype.kind in "iu":
        return int(dataset[()])
    return None


def optimizer_iterations_v3(h5: h5py.File) -> int | None:
    """`model.weights.h5` (Keras 3 / tf_keras `.keras`): the optimizer's first variable."""
    group = h5.get("optimizer/vars")
    return scalar_int(group.get("0")) if isinstance(group, h5py.Group) else None


def optimizer_iterations_legacy(h5: h5py.File) -> int | None:
    """Legacy `.h5`: `optimizer_weights/.../iteration[:0]` (or `iter`, `iterations`)."""
    group = h5.get("optimizer_weights")
    if not isinstance(group, h5py.Group):
        return None
    found: list[int] = []

    def visit(name: str, obj: Any) -> None:
        leaf = name.rsplit("/", 1)[-1].split(":")[0]
        if leaf in ("iteration", "iterations", "iter") and scalar_int(obj) is not None:
            found.append(scalar_int(obj))

    group.visititems(visit)
    return found[0] if found else None
