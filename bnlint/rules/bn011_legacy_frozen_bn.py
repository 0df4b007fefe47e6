from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Edit, Fix, Severity
from ..graph import Generation, Layer, ModelGraph
from ..semantics import frozen_by
from ._shared import mode, plural, settings
from .base import Example, Rule

FROZEN_BASE = (
    "base = make_base()\nbase.trainable = False\ninp = keras.Input((8, 8, 3))\nx = base(inp{kwargs})\n"
    "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))"
)
AMBIGUOUS_VERSION = "2.2.4-tf"


def writer(keras_version: str | None) -> str:
    """Which Keras wrote a legacy file, in words."""
    version = keras_version or "?"
    if version.endswith("-tf"):
        return f"tf.keras of TensorFlow 1.x (keras_version {version})"
    if re.match(r"1\.", version):
        return f"Keras 1 (keras_version {version})"
    return f"multi-backend Keras (keras_version {version})"


def outermost_frozen(layer: Layer) -> Layer:
    """What the user froze: `base.trainable = False` also writes False into every sublayer."""
    frozen = [candidate for candidate in (layer, *layer.ancestors()) if not candidate.trainable]
    return frozen[-1]


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    if graph.generation is not Generation.LEGACY:
        return
    groups: dict[Layer, list[Layer]] = defaultdict(list)
    for bn in graph.bn_layers():
        if frozen_by(bn) is not None and mode(graph, bn).batch_stats:
            groups[outermost_frozen(bn)].append(bn)
    for owner, group in groups.items():
        what = (
            f"BN layer '{group[0].name}' is"
            if owner is group[0]
            else f"{plural(len(group), 'BN layer')} of '{owner.name}' {'is' if len(group) == 1 else 'are'}"
        )
        detail = (
            f"the model was saved by {writer(graph.keras_version)}, which still normalizes frozen (trainable=False) "
            "BN with the statistics of each training batch: training sees other activations than inference, the "
            "classic fine-tuning accuracy gap (keras#9965)."
        )
        if any(mode(graph, bn).updates_stats for bn in group):
            detail += " Before Keras 2.1.3 frozen BN layers even keep updating their moving statistics."
        detail += " Pass training=False to those BN calls (or load and train the model with TF 2)."
        if graph.keras_version == AMBIGUOUS_VERSION:
            detail += (
                f" Note: TF 2.0 and 2.1 also write '{AMBIGUOUS_VERSION}' and already keep frozen BN in inference "
                "mode; if this model comes from TF 2.0/2.1, this finding does not apply."
            )
        yield RULE.diagnostic(
            f"{what} frozen but still normalized with batch statistics",
            detail=detail,
            layer=owner.path,
            settings=settings(group, "trainable"),
            fix=Fix(
                description=f"pass training=False on the calls of {plural(len(group), 'frozen BN layer')}",
                applicability="safe",
                edits=tuple(Edit("call_kwarg", bn.path, "training", None, False) for bn in group),
            ),
        )


RULE = Rule(
    code="BN011",
    name="legacy-frozen-bn",
    severity=Severity.WARNING,
    summary="Frozen BN in a model saved by legacy Keras, which normalizes it with batch statistics.",
    what=(
        "For models saved by legacy Keras -- multi-backend Keras up to 2.3.1 (a plain "
        "`keras_version` below 2.4) and tf.keras of TensorFlow 1.x (`2.x.y-tf` below "
        "`2.3.0-tf`) -- finds BN layers that are frozen (`trainable=False`, on the layer or "
        "an enclosing model) and not protected by `training=False`."
    ),
    why=(
        "Before TensorFlow 2, `trainable=False` froze a BN layer's weights but not its mode: "
        "in training it still normalized each batch with that batch's own mean and "
        "variance, while inference used the moving statistics. A frozen pretrained base "
        "therefore behaves differently in `fit()` and `predict()`, and a classifier trained "
        "on top of it sees features it will never see in production (the report behind "
        "keras PR #9965, which was closed unmerged). Keras before 2.1.3 even kept updating "
        "the moving statistics of frozen BN layers. TF 2 changed this: frozen BN runs in "
        "inference mode. The version string `2.2.4-tf` is ambiguous: TF 1.13-1.15 and also "
        "TF 2.0/2.1 wrote it; the message says so."
    ),
    fix_text="Adds `training=False` to the calls of the frozen BN layers.",
    fix_safety="Safe: inference-mode predictions are unchanged.",
    examples=(
        Example(
            "frozen base saved by tf.keras of TF 1.x (keras_version 2.2.4-tf)",
            FROZEN_BASE.format(kwargs=""),
            fires_on=frozenset({"legacy"}),
            kind="legacy",
        ),
        Example(
            "frozen base called with training=False, saved by tf.keras of TF 1.x",
            FROZEN_BASE.format(kwargs=", training=False"),
            fires_on=frozenset(),
            kind="legacy",
        ),
        Example(
            "the same frozen base saved by current Keras",
            FROZEN_BASE.format(kwargs=""),
            fires_on=frozenset(),
        ),
    ),
    check_model=check,
)
