from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import momentum as mom
from ..context import TrainingContext
from ..diagnostics import Diagnostic, Severity
from ..graph import Generation, ModelGraph
from ._scripts import (
    at,
    bn_phrase,
    change,
    first_training,
    freeze_code,
    full_label,
    script_freeze_fix,
    short_label,
    training_call,
)
from ._shared import by_momentum, freeze_fix, plural, settings, training_bn
from .base import Example, Rule

if TYPE_CHECKING:  # the script interpreter loads only when a script is linted
    from ..scripts.objects import ScriptFacts


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    if graph.generation is not Generation.KERAS3:
        return
    # A base called with training=False, or a BN layer called so directly.
    standalone = [bn for bn in graph.bn_layers() if graph.base_of(bn) is None]
    for target in [*graph.bases(), *standalone]:
        if not any(node.training is False for node in target.nodes):
            continue
        trains = training_bn(graph, target.bn_layers() or [target])
        if not trains:
            continue
        momenta = ", ".join(f"{m:g}" for m in by_momentum(trains))
        slowest = max(by_momentum(trains))
        what = f"base '{target.name}'" if target.bn_layers() else f"BN layer '{target.name}'"
        yield RULE.diagnostic(
            f"{what} is called with training=False, but Keras 3's fit() ignores it",
            detail=f"fit() overrides a nested training=False (keras#20285): {plural(len(trains), 'BN layer')} are "
            f"trainable and will update their moving statistics (momentum {momenta}; "
            f"{mom.pct(mom.remaining(slowest, 100))} of the pretrained statistics left after 100 steps). Set "
            "trainable=False on those BN layers.",
            layer=target.path,
            fix=freeze_fix(trains, "what training=False meant"),
            settings=settings(trains, "momentum", "trainable"),
        )


def check_script(facts: ScriptFacts, context: TrainingContext) -> Iterable[Diagnostic]:
    if facts.generation is not Generation.KERAS3:
        return
    for base in facts.bases:
        found = first_training(facts, context, base)
        if found is None or base.kind == "hub":
            continue
        run, base_run = found
        if not base_run.guarded:
            continue
        call = base_run.guarded[0].pos.line
        unfrozen = change(facts, base_run.flags.at)
        momentum = f" (momentum {max(base.momentum):g})" if base.momentum else ""
        bns = bn_phrase(base_run)
        unfreezing = f"{unfrozen} leaves {bns} trainable" if unfrozen else f"nothing freezes {bns}"
        detail = (
            f"training=False at line {call}, but {unfreezing}, and Keras 3's fit() overrides a nested training=False "
            f"(keras#20285): they update their moving statistics{momentum} in "
            f"{training_call(run.train)} at {run.train.pos.where}. After unfreezing, freeze them: "
            f"`{freeze_code(base)}`.{full_label(base)}"
        )
        yield at(
            RULE.diagnostic(
                f"{short_label(base)} is called with training=False, but Keras 3's fit() ignores it",
                detail=detail,
                layer=base.name,
                fix=script_freeze_fix(base, base_run.flags.at or base.pos),
            ),
            base_run.flags.at or base_run.guarded[0].pos,
        )


RULE = Rule(
    code="BN012",
    name="training-false-ignored",
    severity=Severity.ERROR,
    summary="Keras 3: training=False on a base whose BN layers are trainable is overridden by fit().",
    what=(
        "On Keras 3 models, finds bases called with `training=False` whose BN layers are "
        "still trainable (the base was unfrozen for fine-tuning), and BN layers called "
        "with `training=False` directly while trainable."
    ),
    why=(
        "In Keras 2 (tf_keras), `base(x, training=False)` kept BN in inference mode even "
        "after `base.trainable = True`: the recipe of Keras' transfer-learning guide. Keras 3's "
        "Functional model overwrites a recorded `training` whenever the outer call passes one, "
        "and `fit()` always passes `training=True` (keras#20285). The BN layers then train: "
        "their moving statistics are overwritten by the fine-tuning data, silently. In Keras 3, "
        "only a BN layer's own `trainable=False` keeps it in inference mode."
    ),
    fix_text=(
        "Sets trainable=False on the BN layers of that base. In a script: inserts, after the statement "
        "that unfreezes the base, the loop that keeps its BN layers frozen, spelled with the script's imports."
    ),
    fix_safety="Safe: inference-mode predictions are unchanged; it restores what training=False meant.",
    examples=(
        Example(
            "unfrozen base called with training=False",
            "base = make_base()\ninp = keras.Input((8, 8, 3))\nx = base(inp, training=False)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset({"keras3"}),
        ),
        Example(
            "a BN layer called directly with training=False",
            "inp = keras.Input((16,))\nx = layers.Dense(8)(inp)\nx = layers.BatchNormalization()(x, training=False)\n"
            "model = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset({"keras3"}),
        ),
        Example(
            "unfrozen base whose BN layers are frozen",
            "base = make_base()\nfor layer in base.layers:\n"
            "    if isinstance(layer, layers.BatchNormalization):\n        layer.trainable = False\n"
            "inp = keras.Input((8, 8, 3))\nx = base(inp, training=False)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset(),
        ),
        Example(
            "the guide's fine-tuning step without freezing BN (script)",
            """import keras
from keras import layers

base = keras.applications.Xception(weights="imagenet", input_shape=(150, 150, 3), include_top=False)
base.trainable = False
inputs = keras.Input((150, 150, 3))
x = base(inputs, training=False)
model = keras.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling2D()(x)))
model.compile(keras.optimizers.Adam(), "binary_crossentropy")
model.fit(train_ds, epochs=20)
base.trainable = True
model.compile(keras.optimizers.Adam(1e-5), "binary_crossentropy")
model.fit(train_ds, epochs=10)
""",
            fires_on=frozenset({"keras3"}),
            kind="script",
        ),
        Example(
            "the same, with the BN layers frozen after unfreezing (script)",
            """import keras
from keras import layers

base = keras.applications.Xception(weights="imagenet", input_shape=(150, 150, 3), include_top=False)
base.trainable = False
inputs = keras.Input((150, 150, 3))
x = base(inputs, training=False)
model = keras.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling2D()(x)))
model.compile(keras.optimizers.Adam(), "binary_crossentropy")
model.fit(train_ds, epochs=20)
base.trainable = True
for layer in base.layers:
    if isinstance(layer, layers.BatchNormalization):
        layer.trainable = False
model.compile(keras.optimizers.Adam(1e-5), "binary_crossentropy")
model.fit(train_ds, epochs=10)
""",
            fires_on=frozenset(),
            kind="script",
        ),
    ),
    check_model=check,
    check_script=check_script,
)
