"""Live Keras 3 and tf_keras model objects as model graphs (bnlint.check, the callback).

The graph is built from what the model would write into a `.keras` file (its serialized
config, compile config and optimizer step count) and its BN variables, read from the objects;
nothing is saved, loaded or run. Keras is not imported here: the model's own package, already
in sys.modules, is used.
"""

from __future__ import annotations

import html
import json
import sys
from typing import Any

import numpy as np

from .context import TrainingContext
from .graph import Generation, Layer, ModelGraph, generation_of, split_path
from .linting import FileResult, check_graph, in_order
from .readers.keras_config import build_root
from .rules import Rule
from .weights import BNWeights, StoredArray, WeightError, WeightSource, variable_names


def graph_of(model: Any) -> ModelGraph:
    """The model graph of a live model, as the file readers would build it from its `.keras` file."""
    package = sys.modules[type(model).__module__.split(".")[0]]  # keras (3, or 2.x) or tf_keras
    version = getattr(package, "__version__", None)
    config = json.loads(json.dumps(package.saving.serialize_keras_object(model), default=_plain))
    root = build_root(config)
    changes = as_compiled(model, root) if generation_of(version) is Generation.KERAS2 else []
    return ModelGraph(
        path=model.name,
        kind="live",
        keras_version=version,
        generation=generation_of(version),
        root=root,
        training_config=config.get("compile_config"),
        optimizer_iterations=iterations(model),
        weights=BNWeights(LiveWeights(model, root)),
        trainable_since_compile=changes,
    )


def as_compiled(model: Any, root: Layer) -> list[tuple[str, bool, bool]]:
    """tf_keras' fit() runs every layer with the trainable flag it had at the last compile()
    (`_compiled_trainable_state`, restored for the run; keras-formats.md §4): give the graph
    those flags, and return the layers whose flag has changed since (path, compiled, now).
    Keras 3 records the state only to warn about a change; its fit() runs the flags in force
    when the train function is first traced (the first fit() after compile())."""
    state = getattr(model, "_compiled_trainable_state", None)
    if not state:
        return []
    changes = []
    for layer in root.walk():
        try:
            obj = live_layer(model, layer.path)
        except LookupError:
            continue
        compiled = state.get(obj)
        if compiled is None or bool(compiled) == bool(obj.trainable):
            continue
        layer.config["trainable"] = bool(compiled)
        changes.append((layer.path, bool(compiled), bool(obj.trainable)))
    return changes


def checked(graph: ModelGraph, context: TrainingContext, rules: list[Rule]) -> FileResult:
    result = FileResult(path=graph.path, kind="model")
    check_graph(graph, result, rules, context)
    in_order(result)
    return result


class Report(dict):
    """The JSON document of `lint()`, shown in Jupyter as a table of the findings."""

    def _repr_html_(self) -> str:
        rows = []
        for entry in self["files"]:
            for d in entry["diagnostics"]:
                cells = (d["code"], d["severity"], d["layer"] or "", d["message"], d["detail"])
                rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        if not rows:
            notes = "; ".join(n for entry in self["files"] for n in entry.get("notes", []))
            return (
                f"<p>No BatchNormalization problems found{html.escape(' (notes: ' + notes + ')') if notes else ''}.</p>"
            )
        head = "".join(f"<th>{title}</th>" for title in ("rule", "severity", "layer", "finding", "detail"))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _plain(value: Any) -> Any:
    """What json cannot write itself (numpy scalars and arrays in a config), as the file has it."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def iterations(model: Any) -> int | None:
    """The optimizer's step count: steps already taken (a model not yet trained has none)."""
    optimizer = getattr(model, "optimizer", None)
    try:
        count = int(np.asarray(optimizer.iterations)) if optimizer is not None else 0
    except (AttributeError, TypeError, ValueError):
        return None
    return count or None


class LiveWeights(WeightSource):
    """A BN layer's variables, read from the layer object the graph's path names."""

    def __init__(self, model: Any, root: Layer):
        self.model, self.root = model, root

    def stored(self, layer: Layer) -> dict[str, StoredArray]:
        try:
            live = live_layer(self.model, layer.path)
        except LookupError as exc:
            raise WeightError(str(exc)) from None
        by_name = {short_name(variable): variable for variable in live.weights}
        found = {}
        for name in variable_names(layer.config):
            if name not in by_name:
                raise WeightError(f"variable {name} missing")
            variable = by_name[name]
            array = np.asarray(variable)
            found[name] = StoredArray(array.shape, array.dtype, lambda array=array: array)
        return found


def live_layer(model: Any, path: str) -> Any:
    """The layer object a graph path names (the path's first name is the model's own)."""
    live = model
    for name in split_path(path)[1:]:
        try:
            live = live.get_layer(name)
        except (ValueError, AttributeError):
            raise LookupError(f"no layer '{name}' in the live model") from None
    return live


def short_name(variable: Any) -> str:
    """'moving_mean' for Keras 3's `moving_mean` and tf_keras' `bn/moving_mean:0`."""
    return str(getattr(variable, "name", "")).split("/")[-1].split(":")[0]
