"""Weight edits, applied against an abstract store of variables so that `.keras`
(path-based vars/<i>) and legacy `.h5` (name-based) share one implementation.

A weight edit is `Edit("weights", target=<layer path>, key=<variable>, new=<spec>)`; the
spec says how the new value derives from the file's original arrays:

- `{"minus_bias_of": <layer path>}`: the variable minus that layer's bias (BN008 folds a
  bias into the following BN's moving_mean; its fix also sets use_bias=False, which
  drops the bias variable).
- `{"copy_of": <variable>}` and `{"sqrt_plus_epsilon": <variable>}` (of the same layer):
  the variables Batch Renormalization adds, initialised from the moving statistics as
  both Keras generations track them (keras-formats.md §5).
- `{"values": <array>}`: explicit values (`bnlint recalibrate`'s moving statistics), cast
  to the stored variable's dtype and shape; a different number of values is refused.

A variable the layer does not have yet is added after its last one. Whatever the edits,
every touched layer must end up with exactly the variables its new config implies, or
nothing is written (a config-only renorm switch, for one, would not load).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..diagnostics import Edit
from ..edits import Change, Unsupported
from ..errors import InputError
from ..graph import Layer
from .variables import KERNELS, variables

SPECS = ("minus_bias_of", "copy_of", "sqrt_plus_epsilon", "values")


class VariableStore(ABC):
    """The variables of one model file, addressed by (layer, variable name). `before` is
    the original config (the layout the file was written with), `after` the fixed one."""

    def __init__(self, before: Layer, after: Layer):
        self.before, self.after = before, after

    def layer(self, root: Layer, path: str) -> Layer:
        found = next((layer for layer in root.walk() if layer.path == path), None)
        if found is None:
            raise Unsupported(f"layer '{path}' is not in this file")
        return found

    @abstractmethod
    def read(self, layer: Layer, var: str) -> np.ndarray: ...

    @abstractmethod
    def write(self, layer: Layer, var: str, value: np.ndarray) -> None: ...

    @abstractmethod
    def add(self, layer: Layer, var: str, value: np.ndarray) -> None:
        """Store a new variable after the layer's last one."""

    @abstractmethod
    def delete(self, layer: Layer, var: str) -> None:
        """Remove a variable; only a layer's last one (a bias) is ever removed."""

    @abstractmethod
    def count(self, layer: Layer) -> int:
        """How many variables the file now stores for the layer."""

    def apply(self, edits: list[Edit]) -> None:
        values = [(edit, self._value(edit)) for edit in edits]  # read every original array first
        for edit, value in values:
            layer = self.layer(self.before, edit.target)
            if edit.key in variables(layer):
                self.write(layer, edit.key, value)
            else:
                self.add(layer, edit.key, value)
        touched = {edit.target for edit in edits}
        for old in self.before.walk():
            if old.class_name not in KERNELS and not old.is_bn:
                continue
            new = self.layer(self.after, old.path)
            if old.class_name in KERNELS and "bias" in variables(old) and "bias" not in variables(new):
                self.delete(old, "bias")
                touched.add(old.path)
            elif variables(old) != variables(new):
                touched.add(old.path)
        for path in touched:
            old, new = self.layer(self.before, path), self.layer(self.after, path)
            if self.count(old) != len(variables(new)):
                raise InputError(
                    f"'{path}' would store {self.count(old)} variables where its fixed config expects "
                    f"{len(variables(new))}; nothing was written"
                )

    def _value(self, edit: Edit) -> np.ndarray:
        spec: Any = edit.new
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in SPECS:
            raise Unsupported(f"unknown weight edit {spec!r} on '{edit.target}'")
        (how, source), layer = next(iter(spec.items())), self.layer(self.before, edit.target)
        if how == "minus_bias_of":
            current, bias = self.read(layer, edit.key), self.read(self.layer(self.before, source), "bias")
            if bias.shape != current.shape:
                raise Unsupported(f"bias of '{source}' {bias.shape} does not match '{edit.target}' {current.shape}")
            return (current - bias).astype(current.dtype)
        if how == "values":
            current, given = self.read(layer, edit.key), np.asarray(source)
            if given.size != current.size:
                raise Unsupported(f"{given.size} values for '{edit.target}' {edit.key}, which holds {current.size}")
            return given.astype(current.dtype).reshape(current.shape)
        value = self.read(layer, source)
        if how == "copy_of":
            return value.copy()
        epsilon = np.asarray(float(layer.config.get("epsilon", 1e-3)), value.dtype)
        return np.sqrt(value + epsilon).astype(value.dtype)


def layout_changed(before: Layer, after: Layer) -> bool:
    """Whether the fixed config implies other variables than the file stores (use_bias, renorm)."""
    fixed = {layer.path: layer for layer in after.walk()}
    for old in before.walk():
        new = fixed.get(old.path)
        if new is not None and (old.is_bn or old.class_name in KERNELS) and variables(old) != variables(new):
            return True
    return False


def check(edit: Edit) -> None:
    spec = edit.new
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in SPECS:
        raise Unsupported(f"unknown weight edit {spec!r} on '{edit.target}'")


def describe(edit: Edit) -> Change:
    """What --diff shows for a weight edit (the arrays themselves are not read for that)."""
    how, source = next(iter(edit.new.items()))
    if how == "values":
        return Change(edit.target, edit.key, "stored", f"{np.size(source)} new values")
    formula = {
        "minus_bias_of": f"{edit.key} - bias of {source}",
        "copy_of": f"copy of {source}",
        "sqrt_plus_epsilon": f"sqrt({source} + epsilon)",
    }[how]
    return Change(edit.target, edit.key, "stored" if how == "minus_bias_of" else None, formula)
