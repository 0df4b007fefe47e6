from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Edit, Fix, Severity
from ..graph import Generation, ModelGraph
from ..semantics import unprotected_calls
from ._scripts import (
    at,
    bn_phrase,
    call_fix,
    freeze_code,
    full_label,
    short_label,
    trains_somewhere,
    wiring,
    wiring_fault,
)
from ._shared import plural, statistics_state
from .base import Example, Rule

if TYPE_CHECKING:  # the script interpreter loads only when a script is linted
    from ..scripts.objects import ScriptFacts

HEAD = """
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inp, layers.Dense(2)(x))
"""


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    for base in graph.bases():
        if not base.frozen:
            continue
        calls = unprotected_calls(base)
        if not calls or statistics_state(graph, base.bn_layers()) == "initial":
            continue  # guarded, or nothing pretrained to lose (initial statistics)
        count = len(base.bn_layers())
        sequential = base.wiring == "sequential"
        fault = (
            f"is wrapped in Sequential '{base.parent.name}'"
            if sequential
            else "is called without training=False" + (f" ({', '.join(calls)})" if len(base.nodes) > 1 else "")
        )
        detail = ("a Sequential model cannot pass training=False; " if sequential else "") + (
            f"harmless while it stays frozen, but once you unfreeze it for fine-tuning its "
            f"{plural(count, 'BN layer')} {'re-estimates its' if count == 1 else 're-estimate their'} statistics "
            "from your data and the pretrained statistics are lost."
        )
        if graph.generation is Generation.KERAS3:
            detail += (
                " On Keras 3, fit() overrides even a recorded training=False (keras#20285): after "
                "unfreezing, set trainable=False on the BN layers themselves."
            )
        else:
            detail += f" Call it as {base.name}(x, training=False)"
            detail += " (rebuild the model as Functional)." if sequential else "."
        fix = Fix(
            description=f"pass training=False on every call of '{base.name}'"
            + (" (rebuild the Sequential wrapper as Functional)" if sequential else ""),
            applicability="safe",
            edits=(Edit("call_kwarg", base.path, "training", None, False),),
        )
        yield RULE.diagnostic(
            f"frozen base '{base.name}' {fault}",
            detail=detail,
            layer=base.path,
            fix=fix,
            settings={"trainable": "False", "BN layers": str(count)},
        )


def check_script(facts: ScriptFacts, context: TrainingContext) -> Iterable[Diagnostic]:
    from ..scripts.objects import SetTrainable
    from ..scripts.training import base_mode, first_runs_per_base, fully_frozen

    """Latent only: a base whose BN layers do train somewhere is BN014's or BN012's."""
    runs = first_runs_per_base(facts, context)
    for base in facts.bases:
        if not (base.pretrained or base.loaded_at is not None) or trains_somewhere(facts, context, base):
            continue
        candidates = [base_run for _, base_run in runs.get(base, [])]
        if not any(u.base is base for t in facts.trainings() for u in t.model.uses):
            # Never trained (a template, a model-building module): every state the script
            # leaves it in counts, and one frozen state wired without training=False is enough.
            states = [e.after[base] for e in facts.events if isinstance(e, SetTrainable) and base in e.after]
            states += [facts.final[base]] if base in facts.final else []
            for model in facts.models:
                uses = [u for u in model.uses if u.base is base]
                for flags in states if uses else []:
                    found = base_mode(facts, base, uses, flags)
                    candidates += [found] if found is not None and fully_frozen(found) else []
        if not candidates or not all(fully_frozen(base_run) for base_run in candidates):
            continue  # the script fine-tunes the base and keeps its BN frozen: nothing latent
        reported: set = set()
        for base_run in candidates:
            for use in base_run.unguarded:
                if use.pos in reported or use.wiring == "self":
                    continue
                reported.add(use.pos)
                detail = (
                    f"{bn_phrase(base_run)} frozen; {wiring(use)}. Harmless while it stays frozen, but once you "
                    "unfreeze it for fine-tuning its BN layers re-estimate their statistics from your data and the "
                    "pretrained statistics are lost."
                )
                if facts.generation is Generation.KERAS3 and base.kind != "hub":
                    detail += (
                        " On Keras 3, fit() overrides even training=False (keras#20285): after unfreezing, set "
                        f"trainable=False on the BN layers themselves (`{freeze_code(base)}`)."
                    )
                elif use.wiring == "call":
                    detail += f" Call it as {base.name}(x, training=False)."
                else:
                    detail += f" Build the model as `x = {base.name}(inputs, training=False)` on a new Input."
                headline = f"frozen base {short_label(base)} {wiring_fault(use)}"
                diagnostic = RULE.diagnostic(
                    headline, detail=detail + full_label(base), layer=base.name, fix=call_fix(use)
                )
                yield at(diagnostic, use.pos)


RULE = Rule(
    code="BN001",
    name="frozen-base-training-call",
    severity=Severity.WARNING,
    summary="A frozen pretrained base is called without training=False.",
    what=(
        "Finds nested models that contain BatchNormalization layers, are frozen "
        "(`trainable=False`), and have at least one call that does not pass `training=False` "
        "-- including a base wrapped in `Sequential`, which can never pass it. A base whose BN "
        "layers still hold their initial statistics (0 and 1) has nothing pretrained to lose "
        "and is not reported."
    ),
    why=(
        "While the base is frozen nothing goes wrong: frozen BN layers run in inference mode. "
        "The problem is latent. The usual next step is fine-tuning: `base.trainable = True`, "
        "recompile, fit. From then on the base's BN layers update their moving statistics from "
        "the new data and normalise with batch statistics, destroying what they learned on "
        "ImageNet. Keras' transfer-learning guide therefore calls the base with "
        "`training=False`. On Keras 3 even that is not enough: `fit()` overrides a recorded "
        "`training=False` (keras#20285), so after unfreezing, the BN layers must be frozen "
        "themselves."
    ),
    fix_text=(
        "Adds `training=False` to every call of the base (a `Sequential` wrapper is rebuilt "
        "as a Functional model). On Keras 3 the message also says to freeze the BN layers "
        "after unfreezing the base. In a script: `base(x)` becomes `base(x, training=False)`; a "
        "base in a Sequential list or under a head on `base.output` is reported, not rewritten."
    ),
    fix_safety="Safe: predictions in inference mode are unchanged.",
    examples=(
        Example(
            "frozen base called without training=False",
            "base = make_base()\nbase.trainable = False\ninp = keras.Input((8, 8, 3))\nx = base(inp)" + HEAD,
        ),
        Example(
            "frozen base inside a Sequential wrapper",
            "base = make_base()\nbase.trainable = False\n"
            "model = keras.Sequential([keras.Input((8, 8, 3)), base, layers.GlobalAveragePooling2D(), layers.Dense(2)])",
        ),
        Example(
            "shared base: one call passes training=False, the other does not",
            "base = make_base()\nbase.trainable = False\na = keras.Input((8, 8, 3))\nb = keras.Input((8, 8, 3))\n"
            "x = layers.Concatenate()([base(a, training=False), base(b)])\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model([a, b], layers.Dense(2)(x))",
        ),
        Example(
            "frozen base called with training=False",
            "base = make_base()\nbase.trainable = False\ninp = keras.Input((8, 8, 3))\nx = base(inp, training=False)"
            + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "frozen base in a Sequential model (script)",
            """import keras
from keras import layers

train_ds = keras.utils.image_dataset_from_directory("data/train", image_size=(160, 160))
base = keras.applications.MobileNetV2(input_shape=(160, 160, 3), include_top=False)
base.trainable = False
model = keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dense(2)])
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=10)
""",
            kind="script",
        ),
        Example(
            "frozen base called with training=False (script)",
            """import keras
from keras import layers

train_ds = keras.utils.image_dataset_from_directory("data/train", image_size=(160, 160))
base = keras.applications.MobileNetV2(input_shape=(160, 160, 3), include_top=False)
base.trainable = False
inputs = keras.Input((160, 160, 3))
x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
model = keras.Model(inputs, layers.Dense(2)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=10)
""",
            fires_on=frozenset(),
            kind="script",
        ),
        Example(
            "base frozen layer by layer (the model's own flag stays on) and called without training=False",
            "base = make_base()\nfor layer in base.layers:\n    layer.trainable = False\n"
            "inp = keras.Input((8, 8, 3))\nx = base(inp)" + HEAD,
        ),
    ),
    check_model=check,
    check_script=check_script,
)
