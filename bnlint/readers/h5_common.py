"""HDF5 helpers shared by the `.h5` reader and the `.keras` weights member."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np

from ..errors import InputError


@contextlib.contextmanager
def open_h5(source: Any) -> Iterator[h5py.File]:
    try:
        handle = h5py.File(source, "r")
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable HDF5 file ({_short(exc)})") from None
    with handle:
        yield handle


def _short(exc: Exception) -> str:
    return str(exc).split("(")[0].strip().rstrip(".") or type(exc).__name__


def text_attr(attrs: Any, name: str) -> str | None:
    """An attribute as `str`: h5py 3 returns str, files written by older h5py give bytes."""
    if name not in attrs:
        return None
    value = attrs[name]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def chunked_attr(attrs: Any, name: str) -> list[str] | None:
    """A list attribute that large files split into `name0`, `name1`, ... chunks."""
    if name in attrs:
        parts = [attrs[name]]
    else:
        parts, index = [], 0
        while f"{name}{index}" in attrs:
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
