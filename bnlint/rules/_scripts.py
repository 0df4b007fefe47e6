"""Helpers the script checks of several rules share: locations and the phrases that
describe a base, how a script wires it, and how to freeze its BN layers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Edit, Fix

if TYPE_CHECKING:  # the script interpreter loads only when a script is linted
    from ..scripts.objects import Base, Pos, ScriptFacts, Use
    from ..scripts.training import BaseRun


def at(diagnostic: Diagnostic, where: Pos) -> Diagnostic:
    diagnostic.line, diagnostic.column = where.line, where.col
    return diagnostic


def label(base: Base) -> str:
    if base.name == "?":  # never bound to a name: `Sequential([ResNet50(...), ...])`
        return f"{base.label} ({base.pos.where})"
    return f"'{base.name}' ({base.label})" if base.label != base.name else f"'{base.name}'"


# A label longer than this (a hub URL, a load_model path) is only named in a finding's detail.
LONG_LABEL = 24
KINDS = {"hub": "hub.KerasLayer", "loaded": "load_model(...)"}


def short_label(base: Base) -> str:
    """label() for a headline: a long label gives way to the kind of base (full_label names it)."""
    if len(base.label) <= LONG_LABEL:
        return label(base)
    kind = KINDS.get(base.kind, "model")
    return f"{kind} ({base.pos.where})" if base.name == "?" else f"'{base.name}' ({kind})"


def full_label(base: Base) -> str:
    """A sentence for the detail naming the base in full, when its headline shortened it."""
    return f" The base is {label(base)}." if short_label(base) != label(base) else ""


def bn_phrase(run: BaseRun) -> str:
    if run.total is None:
        return "its BN layers"
    if run.trainable in (0, run.total):
        return f"all {run.total} BN layers" if run.total > 1 else "its BN layer"
    return f"{run.trainable} of the {run.total} BN layers"


def wiring(use: Use) -> str:
    """How one unguarded use reaches the base, and why it cannot keep BN in inference mode."""
    if use.base.kind == "hub":
        return "hub.KerasLayer passes training=True to its BN layers while it is trainable"
    if use.wiring == "flat" and use.text and ".layers[" in use.text:
        return (
            f"its layers {use.text} are put straight into the Sequential model of {use.pos.where}, where no call "
            "can pass training=False"
        )
    if use.wiring == "flat":
        spelled = use.text or f"{use.base.name}.output"
        return f"the head is built on {spelled} ({use.pos.where}), which cannot pass training=False"
    if use.wiring == "sequential":
        return f"it is a layer of the Sequential model of {use.pos.where}, which cannot pass training=False"
    if use.wiring == "self":
        return "the pretrained model itself is trained"
    return f"it is called without training=False ({use.pos.where})"


def wiring_fault(use: Use) -> str:
    """wiring() in a few words, for a headline: what the script does with the base."""
    if use.base.kind == "hub":
        return "passes training=True once trainable"
    if use.wiring == "flat" and use.text and ".layers[" in use.text:
        return "has its layers put straight into a Sequential model"
    return {
        "flat": "has the head built on its output",
        "sequential": "is a layer of a Sequential model",
        "self": "is itself the model trained",
    }.get(use.wiring, "is called without training=False")


def change(facts: ScriptFacts, where: Pos | None) -> str | None:
    """The source of the trainable assignment at `where`, e.g. 'base.trainable = True (line 40)'."""
    if where is None:
        return None
    from ..scripts.objects import SetTrainable

    event = next((e for e in facts.events if isinstance(e, SetTrainable) and e.pos == where), None)
    return f"`{event.text}` (line {where.line})" if event is not None else f"the trainable change of line {where.line}"


def training_call(train) -> str:
    """How a training run reads in a message: `model.fit()`, or the custom loop that calls the model."""
    if train.method == "loop":
        return f"the training loop calling {train.model.name}(..., training=True)"
    return f"{train.model.name}.{train.method}()"


def train_verb(phrase: str) -> str:
    """'3 BN layers ... train', 'its BN layer ... trains'."""
    return "train" if "BN layers" in phrase else "trains"


def freeze_code(base: Base) -> str:
    """Valid one-line Python that freezes the BN layers of a base."""
    name = base.name if base.name != "?" else "base"  # the message names it: ResNet50 (line 7)
    return (
        f"for layer in {name}.layers: layer.trainable = layer.trainable and not isinstance(layer, BatchNormalization)"
    )


def _structure_fix(facts: ScriptFacts, diagnostic: Diagnostic, obj) -> Fix | None:
    """BN008 in a script: `use_bias=False` on the layer's constructor. Safe when the script
    loads no weights (a model trained from scratch: the bias only starts at zero and cancels);
    unsafe otherwise, since loaded weights would then include a bias the layer no longer has."""
    if diagnostic.code != "BN008" or obj.pos.origin:
        return None
    loads = any(b.loaded_at is not None or b.kind == "loaded" for b in facts.bases) or any(
        bn.loaded_at is not None for bn in facts.bns
    )
    edit = Edit("text", f"{obj.pos.line}:{obj.pos.col}", "call-kwarg", None, "use_bias=False")
    return Fix("set use_bias=False on the layer before the BN", "unsafe" if loads else "safe", (edit,))


def call_fix(use: Use) -> Fix | None:
    """`base(x)` -> `base(x, training=False)`: inference-identical, so safe; a Sequential model
    holding the base -> the equivalent functional model (unsafe: its structure changes). Only
    for a named base, in the linted file itself."""
    if use.pos.origin or use.base.name == "?":
        return None
    where = f"{use.pos.line}:{use.pos.col}"
    if use.wiring == "sequential":  # unsafe: the model's structure changes (Sequential -> Functional)
        edit = Edit("text", where, "functional-wrapper", None, use.base.name)
        return Fix(
            f"rebuild the Sequential model as a functional one calling '{use.base.name}' with training=False",
            "unsafe",
            (edit,),
        )
    if use.wiring != "call":
        return None
    edit = Edit("text", where, "call-kwarg", None, "training=False")
    return Fix(f"pass training=False to the call of '{use.base.name}'", "safe", (edit,))


def script_freeze_fix(base: Base, where: Pos) -> Fix | None:
    """The loop that keeps a base's BN layers frozen, inserted after the statement at `where`
    (the one that unfreezes the base): safe, it keeps the pretrained statistics as Keras' guide
    intends."""
    if where.origin or base.name == "?" or base.kind == "hub":
        return None
    edit = Edit("text", str(where.line), "insert-statement", None, freeze_code(base))
    return Fix(f"keep the BN layers of '{base.name}' frozen (after line {where.line})", "safe", (edit,))


def structure_findings(facts: ScriptFacts, context: TrainingContext, check) -> list[Diagnostic]:
    """A structure rule's model check run on the layer stacks of a script (one graph per
    model it builds), each finding placed at the line that creates its layer."""
    from ..scripts.structure import script_graphs

    found, seen = [], set()
    for script_graph in script_graphs(facts):
        for diagnostic in check(script_graph.graph, context):
            obj = script_graph.objects.get(diagnostic.layer or "")
            key = (diagnostic.code, obj.pos.origin or obj.pos) if obj is not None else None
            if obj is None or key in seen or obj.conditional:
                continue  # shared by several models, built once per call, or on some paths only
            seen.add(key)
            diagnostic.layer, diagnostic.fix = diagnostic.layer.split("/", 1)[1], _structure_fix(facts, diagnostic, obj)
            if obj.pos.origin:
                diagnostic.detail += f" (The layer is created in {obj.pos.origin}.)"
            found.append(at(diagnostic, obj.pos))
    return found


def trains_somewhere(facts: ScriptFacts, context: TrainingContext, base: Base) -> bool:
    from ..scripts.training import first_runs_per_base

    return any(run.mode.updates_stats for _, run in first_runs_per_base(facts, context).get(base, []))


def first_training(facts: ScriptFacts, context: TrainingContext, base: Base):
    from ..scripts.training import first_runs_per_base

    """The first (run, base run) in which the BN layers of `base` update their statistics."""
    return next(
        (
            (run, base_run)
            for run, base_run in first_runs_per_base(facts, context).get(base, [])
            if base_run.mode.updates_stats
        ),
        None,
    )
