from __future__ import annotations

from collections.abc import Iterable

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Edit, Fix, Severity
from ..graph import ModelGraph
from ._scripts import structure_findings
from ._shared import settings
from ._wiring import (
    DIM_ORDERING,
    bn_axis,
    channel_axis,
    downstream_channel_axis,
    input_rank,
    output_rank,
    same_axis,
    upstream,
)
from .base import Example, Rule

CHANNELS_FIRST = "inp = keras.Input((3, 8, 8))\nx = layers.Conv2D(4, 3, data_format='channels_first')(inp)\n"
CHANNELS_LAST = "inp = keras.Input((8, 8, 3))\nx = layers.Conv2D(4, 3)(inp)\n"
HEAD = "x = layers.Flatten()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))"


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    for bn in graph.bn_layers():
        axis = bn_axis(bn)
        source = upstream(bn)
        if axis is None or source is None:
            continue
        channel = channel_axis(source)
        rank = input_rank(bn) or output_rank(source)
        if channel is None:
            # Fed by the model's input (or a layer without a data_format): the layer it feeds
            # says where the channels are (`BatchNormalization(axis=1)` on a (rows, cols,
            # channels) image normalizes over its rows).
            found = downstream_channel_axis(bn)
            if found is None or rank is None or rank < 3:
                continue
            source, channel = found
        if same_axis(axis, channel, rank) is not False:
            continue
        data_format = (
            source.config.get("data_format") or DIM_ORDERING.get(source.config.get("dim_ordering")) or "channels_last"
        )
        old = bn.config.get("axis")
        new = [channel % rank] if isinstance(old, list) and rank else channel
        relation = "its input comes from" if source is upstream(bn) else "its output feeds"
        yield RULE.diagnostic(
            f"BN layer '{bn.name}' normalizes axis {axis}, not the channel axis {channel}",
            detail=f"{relation} {source.class_name} '{source.name}' ({data_format}), whose channel axis is "
            f"{channel}: BN keeps one mean and variance per position along axis {axis} instead of per channel, and "
            "the model only works for that input size.",
            layer=bn.path,
            settings=settings([bn], "axis"),
            fix=Fix(
                description=f"set axis={new} on '{bn.name}'",
                applicability="unsafe",  # the BN variables change shape: they must be re-initialized
                edits=(Edit("config", bn.path, "axis", old, new),),
            ),
        )


def check_script(facts, context: TrainingContext) -> Iterable[Diagnostic]:
    return structure_findings(facts, context, check)


RULE = Rule(
    code="BN009",
    name="bn-axis-mismatch",
    severity=Severity.ERROR,
    summary="The BN axis is not the channel axis of its input.",
    what=(
        "Finds BN layers fed by a layer with a `data_format` (Conv, pooling, ...) or a "
        "Dense layer, possibly through activations, whose `axis` is not that layer's "
        "channel axis: 1 for `channels_first`, -1 for `channels_last` and Dense. A BN fed by "
        "the model's input (or a layer without a data_format) is judged by the layer it feeds. "
        "Keras 1's `dim_ordering` counts as `data_format`."
    ),
    why=(
        "BN keeps one mean, variance, gamma and beta per index of its `axis`. Keras "
        "defaults to `axis=-1`, which is right for channels_last; after a channels_first "
        "convolution it is the image width. The model still trains, but it normalizes "
        "each column of pixels across channels, mixing unrelated features, and the layer only "
        "accepts inputs of exactly that width."
    ),
    fix_text="Sets `axis` to the channel axis. The BN weights then have a different shape and must be re-initialized.",
    fix_safety="Unsafe: the BN variables change shape, so the layer must be retrained.",
    examples=(
        Example(
            "channels_first Conv2D followed by a default BN (axis=-1)",
            CHANNELS_FIRST + "x = layers.BatchNormalization()(x)\n" + HEAD,
        ),
        Example(
            "channels_last Conv2D followed by BN(axis=1)",
            CHANNELS_LAST + "x = layers.ReLU()(x)\nx = layers.BatchNormalization(axis=1)(x)\n" + HEAD,
        ),
        Example(
            "channels_first Conv2D followed by BN(axis=1)",
            CHANNELS_FIRST + "x = layers.BatchNormalization(axis=1)(x)\n" + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "channels_last Conv2D followed by BN(axis=3)",
            CHANNELS_LAST + "x = layers.BatchNormalization(axis=3)(x)\n" + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "BN on the image input with axis=1: it normalizes over the image's rows",
            "inp = keras.Input((8, 8, 3))\nx = layers.BatchNormalization(axis=1)(inp)\n"
            "x = layers.Conv2D(4, 3)(x)\n" + HEAD,
        ),
        Example(
            "BN on the image input over its channels",
            "inp = keras.Input((8, 8, 3))\nx = layers.BatchNormalization()(inp)\nx = layers.Conv2D(4, 3)(x)\n" + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "a Theano-era script: channels_first data, BN on the default axis (script)",
            """import keras
from keras import layers

keras.backend.set_image_data_format("channels_first")
model = keras.Sequential([
    keras.Input((3, 64, 64)),
    layers.Conv2D(32, 3, activation="relu"),
    layers.BatchNormalization(),
    layers.Flatten(),
    layers.Dense(2, activation="softmax"),
])
""",
            kind="script",
        ),
        Example(
            "channels_first data with BN(axis=1) (script)",
            """import keras
from keras import layers

model = keras.Sequential([
    keras.Input((3, 64, 64)),
    layers.Conv2D(32, 3, activation="relu", data_format="channels_first"),
    layers.BatchNormalization(axis=1),
    layers.Flatten(),
    layers.Dense(2, activation="softmax"),
])
""",
            fires_on=frozenset(),
            kind="script",
        ),
    ),
    check_model=check,
    check_script=check_script,
)
