from __future__ import annotations

from collections.abc import Iterable

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Severity
from ..graph import ModelGraph
from ._scripts import structure_findings
from ._shared import mode, settings
from ._wiring import DROPOUT, upstream
from .base import Example, Rule

DENSE = "inp = keras.Input((16,))\nx = layers.Dense(8, activation='relu')(inp)\n"
HEAD = "model = keras.Model(inp, layers.Dense(2)(x))"


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    for bn in graph.bn_layers():
        source = upstream(bn)
        if source is None or source.class_name not in DROPOUT:
            continue
        rate = source.config.get("rate", 0)
        if not isinstance(rate, (int, float)) or rate <= 0:
            continue
        if mode(graph, bn).updates_stats is False:
            continue  # frozen statistics never see dropout's noise
        yield RULE.diagnostic(
            f"{source.class_name} '{source.name}' (rate {rate:g}) feeds BN layer '{bn.name}'",
            detail=f"in training BN's moving variance is estimated on inputs that dropout scales by 1/(1-{rate:g}) "
            "and zeroes, in inference dropout is off and that variance no longer matches (the variance shift of Li "
            "et al., 2019). Move the dropout after the BN layer (or after the last BN of the block).",
            layer=bn.path,
            settings=settings([bn], "momentum", "trainable"),
        )


def check_script(facts, context: TrainingContext) -> Iterable[Diagnostic]:
    return structure_findings(facts, context, check)


RULE = Rule(
    code="BN010",
    name="dropout-before-bn",
    severity=Severity.WARNING,
    summary="Dropout feeds a BN layer that learns its statistics (variance shift).",
    what=(
        "Finds BN layers whose input comes from a Dropout layer (Dropout, SpatialDropout, "
        "GaussianDropout, AlphaDropout with rate > 0), directly or through activations, "
        "and that update their moving statistics during `fit()`."
    ),
    why=(
        "Dropout changes the variance of its output: in training units are zeroed and the "
        "rest scaled by 1/(1-p); in inference nothing is dropped. A BN layer after it "
        "learns its moving variance from the training-time distribution and then "
        "normalizes inference-time inputs, whose variance differs, with it. Li et al. "
        "(2019, 'Understanding the Disharmony between Dropout and Batch Normalization') "
        "show this variance shift costs accuracy; placing dropout after all BN layers removes it."
    ),
    fix_text="None for a saved model: move the Dropout layer after the BN layer in the model code.",
    fix_safety="No automatic fix.",
    examples=(
        Example(
            "Dropout directly before BN",
            DENSE + "x = layers.Dropout(0.5)(x)\nx = layers.BatchNormalization()(x)\n" + HEAD,
        ),
        Example(
            "Dropout before BN in a Sequential head (script)",
            """import keras
from keras import layers

model = keras.Sequential([
    keras.Input((64,)),
    layers.Dense(32, activation="relu"),
    layers.Dropout(0.5),
    layers.BatchNormalization(),
    layers.Dense(2, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy")
""",
            kind="script",
        ),
        Example(
            "Dropout after BN (script)",
            """import keras
from keras import layers

model = keras.Sequential([
    keras.Input((64,)),
    layers.Dense(32, activation="relu"),
    layers.BatchNormalization(),
    layers.Dropout(0.5),
    layers.Dense(2, activation="softmax"),
])
""",
            fires_on=frozenset(),
            kind="script",
        ),
        Example(
            "Dropout after BN",
            DENSE + "x = layers.BatchNormalization()(x)\nx = layers.Dropout(0.5)(x)\n" + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "Dropout before a frozen BN",
            DENSE + "x = layers.Dropout(0.5)(x)\nx = layers.BatchNormalization(trainable=False)(x)\n" + HEAD,
            fires_on=frozenset(),
        ),
    ),
    check_model=check,
    check_script=check_script,
)
