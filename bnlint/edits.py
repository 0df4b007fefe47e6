"""Apply a fix's edits to a serialized Keras model config, format-neutral.

The document is walked with the builder every reader uses (keras_config.build_root):
a Layer's `config` and `raw` are the JSON objects themselves, so setting a value on
the layer sets it in the document that is written back. Weight edits are not applied
here: they are returned to the format's writer, which owns the arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Edit, Fix
from .graph import CONTAINER_CLASSES, Layer
from .readers.keras_config import build_root

# Functional class identity per generation, used when a file has no nested Functional to copy it from.
FUNCTIONAL_MODULE = {True: "keras.src.models.functional", False: "tf_keras.src.engine.functional"}


class Unsupported(Exception):
    """This edit cannot be made in this file; the message says why. The fix is skipped."""


@dataclass(frozen=True)
class Change:
    """One setting that a fix changes: what --diff shows and the report lists."""

    layer: str
    setting: str
    old: Any
    new: Any

    def describe(self) -> str:
        return f"{self.layer}: {self.setting}: {_show(self.old)} -> {_show(self.new)}"


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    return str(value)


@dataclass
class Document:
    """One JSON config inside a model file that holds (part of) the architecture.

    `entry` is `{"class_name": ..., "config": ...}`; `path` is the layer path, in the
    file's main graph, of the layer this entry describes (the root for the model config;
    SavedModel files also keep one entry per layer).
    """

    entry: dict[str, Any]
    path: str
    _graph: tuple[Layer, dict[str, Layer]] | None = field(default=None, repr=False)

    def graph(self) -> tuple[Layer, dict[str, Layer]]:
        """The document's layer graph and its layers by path, built once: the layers share
        the document's JSON objects, so config edits stay visible; a rebuild resets it."""
        if self._graph is None:
            root = build_root(self.entry)
            self._graph = root, {layer.path: layer for layer in root.walk()}
        return self._graph

    def rebase(self, target: str) -> str | None:
        """The target's path inside this document's own graph, or None if it is not inside."""
        if target != self.path and not target.startswith(self.path + "/"):
            return None
        return self.graph()[0].name + target[len(self.path) :]


@dataclass(frozen=True)
class Rules:
    """What the format can store: whether a Sequential may be rebuilt as Functional, and
    which Keras generation's node layout to write."""

    keras3: bool
    restructure: bool = True


def apply_fix(documents: list[Document], fix: Fix, rules: Rules) -> tuple[list[Change], list[Edit]]:
    """Apply every config/call edit of one fix to every document that holds its target.

    Returns the changes (from the first, main document) and the weight edits left for the
    writer. Raises Unsupported before mutating anything when the fix cannot be made.
    """
    actions, weight_edits = [], []
    for edit in fix.edits:
        if edit.kind == "weights":
            weight_edits.append(edit)
            continue
        if edit.kind not in ("config", "call_kwarg"):
            raise Unsupported(f"edit kind '{edit.kind}' does not apply to a model")
        # A call is recorded by the caller: a layer's own document (SavedModel) cannot hold it.
        inside = [doc for doc in documents if edit.kind == "config" or doc.path != edit.target]
        holders = [(doc, doc.rebase(edit.target)) for doc in inside]
        holders = [(doc, target) for doc, target in holders if target is not None]
        if not holders:
            raise Unsupported(f"layer '{edit.target}' is not in this file")
        for index, (doc, target) in enumerate(holders):
            actions.append((index == 0, _resolve(doc, target, edit, rules)))
    changes: list[Change] = []
    for main, action in actions:
        made = action()
        if main:
            changes.extend(made)
    return changes, weight_edits


def _resolve(doc: Document, target: str, edit: Edit, rules: Rules):
    """Check that `edit` can be made in `doc` and return the action that makes it."""
    root, layers = doc.graph()
    layer = layers.get(target)
    if layer is None:
        raise Unsupported(f"layer '{edit.target}' is not in this file")
    label = edit.target
    if edit.kind == "config":
        if layer.is_bn and edit.key == "axis":
            raise Unsupported(
                "a new BN axis changes the shape of the BN variables, which bnlint does not re-initialise"
            )
        if layer.config is not layer.raw.get("config"):
            raise Unsupported(f"'{label}' uses the pre-2.2.3 Sequential layout, which cannot be edited")
        return lambda: _set_config(layer, label, edit.key, edit.new)
    if layer.wiring == "functional":
        if _keras1_nodes(layer.raw.get("inbound_nodes")):
            raise Unsupported(f"'{label}' is called in a Keras 1 model, which records no call arguments")
        return lambda: _set_call_kwarg(layer, label, edit.key, edit.new)
    if layer.wiring == "sequential" and layer.parent is root and root.parent is None:
        if root.config is not root.raw.get("config"):
            raise Unsupported(f"'{label}' sits in a pre-2.2.3 Sequential (a bare list), which cannot be rebuilt")
        if not rules.restructure:
            raise Unsupported(
                f"'{label}' sits in a Sequential model, which this format cannot rebuild as Functional "
                "(re-save the model as .keras or .h5 and fix that file)"
            )
        if not _input_entry(root, rules.keras3):
            raise Unsupported(f"Sequential '{root.name}' records no input shape: it cannot be rebuilt as Functional")
        return lambda: _rebuild_functional(doc, target, label, edit, rules)
    raise Unsupported(f"the calls of '{label}' are not recorded in this file (wiring: {layer.wiring or 'root'})")


def _keras1_nodes(nodes: Any) -> bool:
    """Keras 1 wrote `[name, node_index, tensor_index]`: a 4th element breaks its loader."""
    items = [item for node in nodes or [] if isinstance(node, list) for item in node]
    return any(isinstance(item, list) and len(item) == 3 for item in items)


def _set_config(layer: Layer, label: str, key: str, new: Any) -> list[Change]:
    default = True if key == "trainable" else None
    old = layer.config.get(key, default)
    if old == new and (key in layer.config or new == default):
        return []
    layer.config[key] = new
    return [Change(label, key, old, new)]


def _set_call_kwarg(layer: Layer, label: str, key: str, new: Any) -> list[Change]:
    """Set `key` in the recorded kwargs of every call of `layer` (per call: keras-formats.md §2)."""
    changes = []
    nodes = layer.raw.get("inbound_nodes") or []
    for position, node in enumerate(nodes, start=1):
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            kwargs = node.setdefault("kwargs", {})
            slots = [kwargs] if isinstance(kwargs, dict) else []
        else:  # Keras 2: [[name, node_index, tensor_index, kwargs], ...], kwargs repeated per input
            slots = [item[3] for item in node if isinstance(item, list) and len(item) > 3 and isinstance(item[3], dict)]
        if not slots:
            continue
        old = slots[0].get(key)
        for slot in slots:
            slot[key] = new
        if old != new or key not in slots[0]:
            where = f"call {position} of {len(nodes)}" if len(nodes) > 1 else "call"
            changes.append(Change(label, f"{where}: {key}", old, new))
    return changes


def _input_entry(root: Layer, keras3: bool) -> dict[str, Any] | None:
    """The InputLayer entry a Functional rebuild starts from: the Sequential's own, or one
    made from the recorded input shape."""
    first = root.children[0] if root.children else None
    if first is None:
        return None
    if first.class_name == "InputLayer":
        return first.raw
    shape = (
        first.config.get("batch_input_shape")
        or first.config.get("batch_shape")
        or root.config.get("build_input_shape")
        or root.built_input_shape
    )
    if not isinstance(shape, list):
        return None
    key = "batch_shape" if keras3 else "batch_input_shape"
    config = {key: shape, "dtype": "float32", "sparse": False, "ragged": False, "name": f"{root.name}_input"}
    entry: dict[str, Any] = {"class_name": "InputLayer", "config": config}
    if "module" in first.raw:
        entry |= {"module": "keras.layers", "registered_name": None}
    return entry


def _rebuild_functional(doc: Document, target: str, label: str, edit: Edit, rules: Rules) -> list[Change]:
    """Turn a Sequential root into the equivalent Functional model, chaining each layer to
    the previous one, so that the wrapped base's call can carry `training=False`.

    The weights layout is the same for both (measured: `.keras` paths and `.h5` groups
    match), only the config changes.
    """
    entry = doc.entry
    root = doc.graph()[0]
    input_entry = _input_entry(root, rules.keras3)
    assert input_entry is not None
    config = entry["config"]
    body = [e for e in config["layers"] if isinstance(e, dict) and e.get("class_name") != "InputLayer"]
    chain = [input_entry, *body]
    previous: tuple[str, int] | None = None
    for item in chain:
        name = item["config"]["name"]
        item["name"] = name
        item["inbound_nodes"] = [[[previous[0], previous[1], 0, {}]]] if previous else []
        previous = (name, _output_node(item, rules.keras3))
    ref = [previous[0], previous[1], 0]
    first_ref = [chain[0]["name"], 0, 0]
    config["layers"] = chain
    config["input_layers"] = first_ref if rules.keras3 else [first_ref]
    config["output_layers"] = ref if rules.keras3 else [ref]
    config.setdefault("trainable", True)
    for key in ("build_input_shape", "dtype"):
        config.pop(key, None)
    entry["class_name"] = "Functional"
    if "module" in entry:
        nested = next((e for e in body if e.get("class_name") == "Functional" and "module" in e), None)
        entry["module"] = nested["module"] if nested else FUNCTIONAL_MODULE[rules.keras3]
        entry["registered_name"] = "Functional"
    changes = [Change(root.path, "model class", "Sequential", "Functional")]
    doc._graph = None  # the structure changed
    layer = doc.graph()[1][target]
    return changes + _set_call_kwarg(layer, label, edit.key, edit.new)


def _output_node(entry: dict[str, Any], keras3: bool) -> int:
    """The node index consumers use for a layer's first call. tf_keras does not serialize a
    nested model's construction node, so its first recorded call is node 1 (keras-formats.md §2)."""
    return 1 if not keras3 and entry.get("class_name") in CONTAINER_CLASSES else 0


def trainable_flips(changes: Iterable[Change]) -> set[str]:
    """Layer paths whose `trainable` setting changed (legacy .h5 must reorder their weights)."""
    return {change.layer for change in changes if change.setting == "trainable"}
