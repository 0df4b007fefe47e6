from __future__ import annotations

from collections.abc import Iterable

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Edit, Fix, Severity
from ..graph import Generation, ModelGraph
from ..semantics import unprotected_calls
from ._shared import plural
from .base import Example, Rule

HEAD = """
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inp, layers.Dense(2)(x))
"""


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    for base in graph.bases():
        if base.trainable:
            continue
        calls = unprotected_calls(base)
        if not calls:
            continue
        count = len(base.bn_layers())
        sequential = base.wiring == "sequential"
        how = (
            f"is wrapped in Sequential '{base.parent.name}', which cannot pass training=False"
            if sequential
            else "is called without training=False" + (f" ({', '.join(calls)})" if len(base.nodes) > 1 else "")
        )
        message = (
            f"frozen base '{base.name}' ({plural(count, 'BN layer')}) {how}: harmless while it stays "
            f"frozen, but once you unfreeze it for fine-tuning its BN layers re-estimate their statistics "
            f"from your data and the pretrained statistics are lost."
        )
        if graph.generation is Generation.KERAS3:
            message += (
                " On Keras 3, fit() overrides even a recorded training=False (keras#20285): after "
                "unfreezing, set trainable=False on the BN layers themselves."
            )
        else:
            message += f" Call it as {base.name}(x, training=False)"
            message += " (rebuild the model as Functional)." if sequential else "."
        fix = Fix(
            description=f"pass training=False on every call of '{base.name}'"
            + (" (rebuild the Sequential wrapper as Functional)" if sequential else ""),
            applicability="safe",
            edits=(Edit("call_kwarg", base.path, "training", None, False),),
        )
        yield RULE.diagnostic(message, layer=base.path, fix=fix)


RULE = Rule(
    code="BN001",
    name="frozen-base-training-call",
    severity=Severity.WARNING,
    summary="A frozen pretrained base is called without training=False.",
    what=(
        "Finds nested models that contain BatchNormalization layers, are frozen "
        "(`trainable=False`), and have at least one call that does not pass `training=False` "
        "-- including a base wrapped in `Sequential`, which can never pass it."
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
        "after unfreezing the base."
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
    ),
    check_model=check,
)
