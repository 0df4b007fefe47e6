from __future__ import annotations

from collections.abc import Iterable

from .. import momentum as mom
from ..context import TrainingContext
from ..diagnostics import Diagnostic, Severity
from ..graph import Generation, ModelGraph
from ._shared import by_momentum, freeze_fix, plural, training_bn
from .base import Example, Rule


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    horizon = context.horizon()
    for base in graph.bases():
        if any(node.training is False for node in base.nodes) and graph.generation is Generation.KERAS3:
            continue  # BN012 reports this case: training=False was meant but is ignored
        trains = training_bn(graph, base.bn_layers())
        if not trains:
            continue
        slowest = max(by_momentum(trains))
        steps, when = (horizon[0], f"after {horizon[1]}") if horizon else (100, "after 100 steps")
        keep = (
            "set trainable=False on the BN layers (on Keras 3 nothing else protects them)"
            if graph.generation is Generation.KERAS3
            else f"call {base.name}(x, training=False), or set trainable=False on the BN layers"
        )
        yield RULE.diagnostic(
            f"{plural(len(trains), 'BN layer')} of pretrained base '{base.name}' train during fine-tuning: "
            f"their moving statistics are overwritten by your data at momentum {slowest:g} "
            f"({mom.pct(mom.remaining(slowest, steps))} of the pretrained statistics left {when}). "
            f"Keras' guide: keep them in inference mode -- {keep}. If your data is far from the "
            f"pretraining domain you may instead let them adapt on purpose, faster, with momentum "
            f"{mom.suggested(horizon[0] if horizon else None):g} (BN002).",
            layer=base.path,
            fix=freeze_fix(trains, "pretrained statistics kept"),
        )


RULE = Rule(
    code="BN014",
    name="pretrained-bn-unfrozen",
    severity=Severity.WARNING,
    summary="The BN layers of a pretrained base train during fine-tuning.",
    what=(
        "Finds pretrained bases (nested models with BN layers) whose BN layers update their "
        "moving statistics during `fit()`: the base is unfrozen and nothing keeps its BN in "
        "inference mode (Keras 2: no `training=False` on its calls; Keras 3: the BN layers' "
        "own `trainable` is still True)."
    ),
    why=(
        "Fine-tuning a pretrained CNN usually means unfreezing the top of the base with a low "
        "learning rate. The BN layers' moving statistics, though, are not learned by gradient: "
        "they are overwritten at momentum m by the statistics of your batches, often small "
        "and from another domain. Keras' transfer-learning guide keeps BN in inference mode "
        "for this reason. The opposite choice is also defensible when the new domain differs "
        "a lot (the seed article's histology example), but then the statistics should adapt "
        "quickly (momentum 0.9), not drift for thousands of steps."
    ),
    fix_text="Sets trainable=False on those BN layers (or, by choice, BN002's momentum fix).",
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
    ),
    check_model=check,
)
