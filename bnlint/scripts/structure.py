"""The layer stacks a script writes (Sequential lists, `.add` sequences, functional chains)
as the model graph a saved model would give: the structure rules (BN008-BN010) then judge
a script with the same code, and the same messages, as a model file.

Each model of the script becomes the config Keras would save for it, built only from what
the script says (layer classes, literal settings, who feeds whom), and goes through the
same config reader as a `.keras` file. Pretrained bases stay opaque: their insides are not
the script's to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..graph import ModelGraph
from ..readers.keras_config import build_root, keras_snake
from .objects import Base, BNLayer, Layer, Model, Obj, ScriptFacts


@dataclass
class ScriptGraph:
    graph: ModelGraph
    objects: dict[str, Obj]  # layer path in the graph -> the script object (for its line)


def script_graphs(facts: ScriptFacts) -> list[ScriptGraph]:
    """One graph per model the script builds whose layers are known."""
    if "graphs" not in facts.cache:
        found = []
        for model in facts.models:
            built = _graph(facts, model)
            if built is not None:
                found.append(built)
        facts.cache["graphs"] = found
    return facts.cache["graphs"]


class _Namer:
    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.taken: set[str] = set()

    def __call__(self, obj: Obj, class_name: str) -> str:
        if id(obj) not in self.names:
            stem = obj.keras_name or keras_snake(class_name)
            name, count = stem, 0
            while name in self.taken:
                count += 1
                name = f"{stem}_{count}"
            self.taken.add(name)
            self.names[id(obj)] = name
        return self.names[id(obj)]


def _class(obj: Obj) -> str:
    if isinstance(obj, BNLayer):
        return "BatchNormalization"
    if isinstance(obj, Layer):
        return obj.class_name
    return "Functional"  # a base or a nested model: opaque here


def _entry(facts: ScriptFacts, obj: Obj, name: str) -> dict[str, Any]:
    config: dict[str, Any] = {**obj.config, "name": name}
    if isinstance(obj, (Base, Model)):
        config = {"name": name, "layers": []}
    flags = facts.final.get(obj)
    config["trainable"] = flags.own if flags is not None and flags.own is not None else True
    return {"class_name": _class(obj), "name": name, "config": config}


def _graph(facts: ScriptFacts, model: Model) -> ScriptGraph | None:
    namer = _Namer()
    objects: dict[str, Obj] = {}
    entries: list[dict[str, Any]] = []
    if model.kind == "sequential":
        if not model.slots:
            return None
        for slot in model.slots:
            if not isinstance(slot, Obj):
                return None
            name = namer(slot, _class(slot))
            objects[name] = slot
            entries.append(_entry(facts, slot, name))
        root = {"class_name": "Sequential", "config": {"name": "model", "layers": entries}}
    elif model.kind in ("functional", "subclass") and model.outputs:
        layers = _reachable(model.outputs)
        if not layers:
            return None
        inside = {id(obj) for obj in layers}
        for obj in layers:
            name = namer(obj, _class(obj))
            objects[name] = obj
            entry = _entry(facts, obj, name)
            entry["inbound_nodes"] = [
                [[namer(p, _class(p)), 0, 0, {}] for p in call if isinstance(p, Obj) and id(p) in inside]
                for call in obj.calls
            ]
            entries.append(entry)
        outputs = [[namer(t.last, _class(t.last)), 0, 0] for t in model.outputs if isinstance(t.last, Obj)]
        root = {"class_name": "Functional", "config": {"name": "model", "layers": entries, "output_layers": outputs}}
    else:
        return None
    graph = ModelGraph("script", "script", facts.keras_version, facts.generation, build_root(root, checked=False))
    return ScriptGraph(graph, {f"model/{name}": obj for name, obj in objects.items()})


def _reachable(outputs: list[Any]) -> list[Obj]:
    """The layers the outputs were computed through, inputs first (the order a saved config has)."""
    seen: dict[int, Obj] = {}
    order: list[Obj] = []
    stack = [(t.last, False) for t in outputs if isinstance(t.last, Obj)]
    while stack:
        obj, done = stack.pop()
        if done:
            order.append(obj)
            continue
        if id(obj) in seen:
            continue
        seen[id(obj)] = obj
        stack.append((obj, True))
        for call in obj.calls:
            stack.extend((p, False) for p in call if isinstance(p, Obj) and id(p) not in seen)
    return order
