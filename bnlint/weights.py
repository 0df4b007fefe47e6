"""Lazy, validated access to the weight arrays of BN layers.

A reader attaches a `WeightSource` that knows where its format stores one layer's
variables; `BNWeights` wraps it: it reads only the arrays of the BN layers asked for,
once, checks their shape and dtype, and turns a layer it cannot read into a note
instead of an error, so that the other layers and rules still run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError
from .graph import Layer

RENORM_VARIABLES = ("moving_stddev", "renorm_mean", "renorm_stddev")
# A BN variable holds one value per channel; anything far larger is a corrupt shape,
# and reading it could exhaust memory.
MAX_VALUES = 1 << 22


def variable_names(config: dict[str, Any]) -> list[str]:
    """The variables Keras creates for a BN layer, in the order it stores them
    (keras-formats.md §1): gamma and beta only if scale/center, renorm's three last."""
    names = [name for name, key in (("gamma", "scale"), ("beta", "center")) if config.get(key, True) is not False]
    names += ["moving_mean", "moving_variance"]
    if config.get("renorm"):
        names += RENORM_VARIABLES
    return names


class WeightError(Exception):
    """One layer's weights cannot be read (missing, wrong shape or dtype): a per-layer note."""


@dataclass(frozen=True)
class StoredArray:
    """An array in the file, not yet read: its shape and dtype, and how to read it."""

    shape: tuple[int, ...]
    dtype: np.dtype
    read: Callable[[], np.ndarray]


class WeightSource:
    """Where one format keeps a layer's variables. `stored` raises WeightError for one
    layer, InputError when the weights of the whole file cannot be read."""

    def stored(self, layer: Layer) -> dict[str, StoredArray]:
        raise NotImplementedError

    def close(self) -> None:
        """Release open files; the source may be asked again later and reopen them."""


class Unavailable(WeightSource):
    """A format (or file) whose weights bnlint cannot read: every request says why."""

    def __init__(self, reason: str):
        self.reason = reason

    def stored(self, layer: Layer) -> dict[str, StoredArray]:
        raise InputError(self.reason)


class BNWeights:
    """The validated BN arrays of one model file, read on first request and cached."""

    def __init__(self, source: WeightSource):
        self._source = source
        self._cache: dict[int, dict[str, np.ndarray] | None] = {}
        self._unreadable: str | None = None
        self._problems: dict[str, list[str]] = {}  # reason -> layer paths

    def arrays(self, layer: Layer) -> dict[str, np.ndarray] | None:
        """Variable name -> array for a BN layer; None when they cannot be read (see notes)."""
        key = id(layer)
        if key not in self._cache:
            self._cache[key] = self._read(layer)
        return self._cache[key]

    def _read(self, layer: Layer) -> dict[str, np.ndarray] | None:
        if self._unreadable is not None:
            return None
        try:
            return validated(layer, self._source.stored(layer))
        except InputError as exc:
            self._unreadable = str(exc)
        except WeightError as exc:
            self._problems.setdefault(str(exc), []).append(layer.path)
        except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:  # h5py and numpy on a corrupt file
            self._problems.setdefault(f"unreadable ({type(exc).__name__}: {exc})", []).append(layer.path)
        return None

    @property
    def notes(self) -> list[str]:
        notes = [f"BN weights not read, weight checks skipped: {self._unreadable}"] if self._unreadable else []
        for reason, paths in self._problems.items():
            shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
            notes.append(f"weights of {shown} not checked: {reason}")
        return notes

    def close(self) -> None:
        self._source.close()


def validated(layer: Layer, stored: dict[str, StoredArray]) -> dict[str, np.ndarray]:
    """Read the expected variables after checking names, dtypes and shapes."""
    expected = variable_names(layer.config)
    missing = [name for name in expected if name not in stored]
    if missing:
        raise WeightError(f"missing BN variable{'s' * (len(missing) > 1)} {', '.join(missing)}")
    shapes = {tuple(stored[name].shape) for name in expected}
    if len(shapes) != 1:
        detail = ", ".join(f"{name} {list(stored[name].shape)}" for name in expected)
        raise WeightError(f"BN variables disagree in shape ({detail})")
    shape = shapes.pop()
    channels = _channels(layer)
    if not shape or int(np.prod(shape)) > MAX_VALUES or (channels is not None and shape != (channels,)):
        want = f"({channels},)" if channels is not None else "one value per channel"
        raise WeightError(f"BN variables have shape {list(shape)}, expected {want}")
    for name in expected:
        if np.dtype(stored[name].dtype).kind != "f":
            raise WeightError(f"{name} has dtype {stored[name].dtype}, expected floating point")
    return {name: np.asarray(stored[name].read()).reshape(shape) for name in expected}  # stored dtype: float32 mostly


def _channels(layer: Layer) -> int | None:
    """The channel count the config implies (build_config input shape at a single axis)."""
    shape = layer.built_input_shape
    axis = layer.config.get("axis", -1)
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if not isinstance(shape, list) or not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
        return None
    size = shape[axis]
    return size if isinstance(size, int) else None
