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
    train_verb,
    training_call,
    wiring,
)
from ._shared import (
    adapt_instead,
    by_momentum,
    freeze_fix,
    if_fine_tuned,
    plural,
    settings,
    statistics_state,
    training_bn,
)
from .base import Example, Rule

if TYPE_CHECKING:  # the script interpreter loads only when a script is linted
    from ..scripts.objects import ScriptFacts


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    horizon = context.horizon()
    for base in graph.bases():
        if any(node.training is False for node in base.nodes) and graph.generation is Generation.KERAS3:
            continue  # BN012 reports this case: training=False was meant but is ignored
        trains = training_bn(graph, base.bn_layers())
        if not trains or statistics_state(graph, base.bn_layers()) == "initial":
            continue  # nothing trains, or nothing pretrained to lose (initial statistics)
        slowest = max(by_momentum(trains))
        steps, when = (horizon[0], f"after {horizon[1]}") if horizon else (100, "after 100 steps")
        keep = (
            "set trainable=False on the BN layers (on Keras 3 nothing else protects them)"
            if graph.generation is Generation.KERAS3
            else f"call {base.name}(x, training=False), or set trainable=False on the BN layers"
        )
        exported = graph.exported
        yield RULE.diagnostic(
            f"{if_fine_tuned(graph)}{plural(len(trains), 'BN layer')} of pretrained base '{base.name}' "
            f"{'will train' if exported else 'train during fine-tuning'}",
            detail=f"their moving statistics are overwritten by your data at momentum {slowest:g} "
            f"({mom.pct(mom.remaining(slowest, steps))} of the pretrained statistics left {when}). "
            f"Keras' guide: keep them in inference mode -- {keep}."
            + adapt_instead(slowest, horizon[0] if horizon else None),
            layer=base.path,
            severity=Severity.INFO if exported else None,
            fix=freeze_fix(trains, "pretrained statistics kept"),
            settings=settings(trains, "momentum", "trainable"),
        )


def check_script(facts: ScriptFacts, context: TrainingContext) -> Iterable[Diagnostic]:
    for base in facts.bases:
        found = first_training(facts, context, base)
        if found is None or not found[1].pretrained:
            continue
        run, base_run = found
        if facts.generation is Generation.KERAS3 and base_run.guarded and base.kind != "hub":
            continue  # BN012 reports this case: training=False was meant but is ignored
        momentum = max(base.momentum) if base.momentum else None
        horizon = run.context.horizon()
        steps, when = (horizon[0], f"after {horizon[1]}") if horizon else (100, "after 100 steps")
        numbers = (
            f" at momentum {momentum:g} ({mom.pct(mom.remaining(momentum, steps))} of the pretrained statistics "
            f"left {when})"
            if momentum is not None
            else ""
        )
        why = "; ".join(dict.fromkeys(wiring(u) for u in base_run.unguarded)) or "nothing keeps them in inference mode"
        unfrozen = change(facts, base_run.flags.at)
        if facts.generation is Generation.KERAS3 or base.kind == "hub" or not base_run.unguarded:
            keep = f"after unfreezing, freeze the BN layers themselves: `{freeze_code(base)}`"
        elif any(u.wiring in ("flat", "sequential", "self") for u in base_run.unguarded):
            keep = (
                f"build the model as `x = {base.name}(inputs, training=False)` on a new Input, or freeze "
                f"the BN layers: `{freeze_code(base)}`"
            )
        else:
            keep = f"call it as {base.name}(x, training=False), or freeze the BN layers"
        bns = bn_phrase(base_run)
        detail = (
            f"trained in {training_call(run.train)} at {run.train.pos.where}"
            + (f" after {unfrozen}" if unfrozen else "")
            + f": {why}. Their moving statistics are overwritten by your data{numbers}. Keras' guide: keep them "
            f"in inference mode -- {keep}."
            + adapt_instead(momentum, horizon[0] if horizon else None)
            + full_label(base)
        )
        headline = f"{bns} of pretrained base {short_label(base)} {train_verb(bns)} during fine-tuning"
        fix = script_freeze_fix(base, base_run.flags.at or base.pos)
        yield at(RULE.diagnostic(headline, detail=detail, layer=base.name, fix=fix), base_run.flags.at or base.pos)
    yield from _loaded_models(facts, context)


def _loaded_models(facts: ScriptFacts, context: TrainingContext) -> Iterable[Diagnostic]:
    """A model the script builds itself (BN layers and all) and fills with pretrained
    weights (`model.load_weights(...)`): its own BN layers are the pretrained ones."""
    from ..scripts.training import runs

    reported: set = set()
    for run in runs(facts, context):
        loaded = [bn for bn in run.loaded if bn not in reported]
        if not loaded:
            continue
        reported.update(loaded)
        momentum = max((bn.momentum for bn in loaded if bn.momentum is not None), default=0.99)
        horizon = run.context.horizon()
        steps, when = (horizon[0], f"after {horizon[1]}") if horizon else (100, "after 100 steps")
        count = f"{len(loaded)} BN layer{'s' * (len(loaded) != 1)}"
        model = run.train.model
        detail = (
            f"trained in {training_call(run.train)} at {run.train.pos.where}: their moving statistics are "
            f"overwritten by your data at momentum {momentum:g} ({mom.pct(mom.remaining(momentum, steps))} of the "
            f"pretrained statistics left {when}). Keras' guide: keep them in inference mode -- set trainable=False "
            "on the BN layers before compile()." + adapt_instead(momentum, horizon[0] if horizon else None)
        )
        headline = f"{count} of '{model.name}' with loaded pretrained weights {train_verb(count)} during fine-tuning"
        yield at(RULE.diagnostic(headline, detail=detail, layer=model.name), run.train.pos)


RULE = Rule(
    code="BN014",
    name="pretrained-bn-unfrozen",
    severity=Severity.WARNING,
    summary="The BN layers of a pretrained base train during fine-tuning.",
    what=(
        "Finds pretrained bases (nested models with BN layers) whose BN layers update their "
        "moving statistics during `fit()`: the base is unfrozen and nothing keeps its BN in "
        "inference mode (Keras 2: no `training=False` on its calls; Keras 3: the BN layers' "
        "own `trainable` is still True). A base whose BN layers still hold their initial "
        "statistics (0 and 1) has nothing pretrained to lose and is not reported. On a model "
        "saved for inference (no compile configuration, no optimizer state: every Teachable "
        "Machine export) the finding is information about what fine-tuning it would do, "
        "not a warning."
    ),
    why=(
        "Fine-tuning a pretrained CNN usually means unfreezing the top of the base with a low "
        "learning rate. The BN layers' moving statistics, though, are not learned by gradient: "
        "they are overwritten at momentum m by the statistics of your batches, often small "
        "and from another domain. Keras' transfer-learning guide keeps BN in inference mode "
        "for this reason. The opposite choice is also defensible when the new domain differs "
        "a lot (the seed article's histology example), but then the statistics should adapt "
        "quickly (momentum 0.9), not drift for thousands of steps. `bnlint probe MODEL --data DIR` "
        "measures which case yours is; in bnlint's transfer experiment (README) adapting BN "
        "beat freezing it by more than 2 points of validation accuracy only above the probe's "
        "threshold; on the most shifted domain, BN frozen with its pretrained statistics scored 13 "
        "to 20 points below BN frozen with recalibrated ones (`bnlint recalibrate`)."
    ),
    fix_text=(
        "Sets trainable=False on those BN layers (or, by choice, BN002's momentum fix). In a script: "
        "inserts, after the statement that unfreezes the base (after the loop over its layers), the "
        "loop that keeps its BN layers frozen, spelled with the script's imports."
    ),
    fix_safety="Safe: inference-mode predictions are unchanged.",
    examples=(
        Example(
            "unfrozen base called without training=False",
            "base = make_base()\ninp = keras.Input((8, 8, 3))\nx = base(inp)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
        ),
        Example(
            "unfrozen base inside a Sequential wrapper",
            "base = make_base()\n"
            "model = keras.Sequential([keras.Input((8, 8, 3)), base, layers.GlobalAveragePooling2D(), layers.Dense(2)])",
        ),
        Example(
            "frozen base with one BN layer set back to trainable (it still updates its statistics)",
            "base = make_base()\nbase.trainable = False\nbase.get_layer('bn1').trainable = True\n"
            "inp = keras.Input((8, 8, 3))\nx = base(inp)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
        ),
        Example(
            "unfrozen base called with training=False (Keras 2 honours it)",
            "base = make_base()\ninp = keras.Input((8, 8, 3))\nx = base(inp, training=False)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset(),
        ),
        Example(
            "unfrozen base whose BN layers are frozen",
            "base = make_base()\nfor layer in base.layers:\n"
            "    if isinstance(layer, layers.BatchNormalization):\n        layer.trainable = False\n"
            "inp = keras.Input((8, 8, 3))\nx = base(inp)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset(),
        ),
        Example(
            "head on base.output, top 20 layers unfrozen (script)",
            """import keras
from keras import layers

base = keras.applications.ResNet50(weights="imagenet", include_top=False, input_shape=(224, 224, 3))
for layer in base.layers:
    layer.trainable = False
x = layers.GlobalAveragePooling2D()(base.output)
model = keras.Model(base.input, layers.Dense(5, activation="softmax")(x))
model.compile("adam", "categorical_crossentropy")
model.fit(train_ds, epochs=5)
for layer in model.layers[-20:]:
    layer.trainable = True
model.compile(keras.optimizers.Adam(1e-5), "categorical_crossentropy")
model.fit(train_ds, epochs=5)
""",
            kind="script",
        ),
        Example(
            "the same, keeping the BN layers frozen (script)",
            """import keras
from keras import layers

base = keras.applications.ResNet50(weights="imagenet", include_top=False, input_shape=(224, 224, 3))
for layer in base.layers:
    layer.trainable = False
x = layers.GlobalAveragePooling2D()(base.output)
model = keras.Model(base.input, layers.Dense(5, activation="softmax")(x))
model.compile("adam", "categorical_crossentropy")
model.fit(train_ds, epochs=5)
for layer in model.layers[-20:]:
    if not isinstance(layer, layers.BatchNormalization):
        layer.trainable = True
model.compile(keras.optimizers.Adam(1e-5), "categorical_crossentropy")
model.fit(train_ds, epochs=5)
""",
            fires_on=frozenset(),
            kind="script",
        ),
    ),
    check_model=check,
    check_script=check_script,
)
