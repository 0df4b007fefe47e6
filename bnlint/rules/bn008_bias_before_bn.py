from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Edit, Fix, Severity
from ..graph import Layer, ModelGraph
from ._scripts import structure_findings
from ._shared import mode, plural
from ._wiring import bn_axis, channel_axis, consumers, input_rank, output_rank, same_axis
from .base import Example, Rule

BIASED = {
    f"{kind}{n}D{suffix}"
    for kind in ("Conv", "DepthwiseConv", "SeparableConv")
    for n in (1, 2, 3)
    for suffix in ("", "Transpose")
    if not (suffix and kind != "Conv")
} | {"Dense"}
LINEAR = (None, "linear")
CONV_BN = "inp = keras.Input((8, 8, 3))\nx = layers.Conv2D(4, 3{args})(inp)\n"
HEAD = "x = layers.ReLU()(x)\nx = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))"


def redundant_bias(graph: ModelGraph, layer: Layer) -> list[Layer] | None:
    """The BN layers that cancel `layer`'s bias, if they are its only consumers."""
    if layer.class_name not in BIASED or not layer.config.get("use_bias", True):
        return None
    if layer.config.get("activation") not in LINEAR:
        return None  # a nonlinearity sits between bias and BN: the bias matters
    users = consumers(layer)
    channel = channel_axis(layer)
    if not users or channel is None or not all(user.is_bn for user in users):
        return None
    for bn in users:
        axis = bn_axis(bn)
        rank = input_rank(bn) or output_rank(layer)
        if axis is None or same_axis(axis, channel, rank) is not True:
            return None
        if bn.config.get("center", True) is False and mode(graph, bn).batch_stats is False:
            return None  # a frozen BN without beta: the bias is the only learned shift
    return users


CANCELS = "over the channel axis, BN subtracts the per-channel mean, so the bias cancels and only costs parameters."


def single(layer: Layer, users: list[Layer]) -> str:
    return f"{layer.class_name} '{layer.name}' has a bias that BN layer '{users[0].name}' cancels"


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    by_parent: dict[Layer | None, list[tuple[Layer, list[Layer]]]] = defaultdict(list)
    for layer in graph.layers():
        users = redundant_bias(graph, layer)
        if users:
            by_parent[layer.parent].append((layer, users))
    for parent, pairs in by_parent.items():
        edits = []
        for layer, users in pairs:
            edits.append(Edit("config", layer.path, "use_bias", True, False))
            edits += [Edit("weights", bn.path, "moving_mean", None, {"minus_bias_of": layer.path}) for bn in users]
        if len(pairs) == 1:
            layer, users = pairs[0]
            subject, names, where = single(layer, users), "", layer.path
        else:
            subject = f"{plural(len(pairs), 'layer')} with use_bias=True feed only a BN layer each"
            names = ", ".join(layer.name for layer, _ in pairs[:3]) + (", ..." if len(pairs) > 3 else "") + "; "
            where = parent.path if parent is not None else pairs[0][0].path
        yield RULE.diagnostic(
            subject,
            detail=f"{names}{CANCELS} Fold it into the BN (moving_mean -= bias) and set use_bias=False.",
            layer=where,
            fix=Fix(
                description=f"fold the bias of {plural(len(pairs), 'layer')} into the following BN's moving_mean "
                "and set use_bias=False",
                applicability="safe",
                edits=tuple(edits),
            ),
        )


def per_layer(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    """One finding per layer: a script says where each one is created."""
    for layer in graph.layers():
        users = redundant_bias(graph, layer)
        if users:
            yield RULE.diagnostic(single(layer, users), detail=f"{CANCELS} Set use_bias=False on it.", layer=layer.path)


def check_script(facts, context: TrainingContext) -> Iterable[Diagnostic]:
    return structure_findings(facts, context, per_layer)


RULE = Rule(
    code="BN008",
    name="bias-before-bn",
    severity=Severity.INFO,
    summary="A Conv/Dense bias that the following BN cancels.",
    what=(
        "Finds Conv1D/2D/3D (and Transpose), DepthwiseConv, SeparableConv and Dense layers with "
        "`use_bias=True` and a linear activation whose only consumers are BN layers "
        "normalizing over their channel axis."
    ),
    why=(
        "BN subtracts the mean of each channel, in training the batch mean and in inference "
        "the moving mean, so a per-channel constant added just before it has no effect on "
        "the output: BN's beta already provides the shift. The bias adds parameters, compute "
        "and a useless gradient. Many keras.applications (ResNet50 among them) carry such biases."
    ),
    fix_text=(
        "Folds the bias into the BN: moving_mean -= bias, then `use_bias=False` on the "
        "Conv/Dense layer. Inference is unchanged exactly; training is unchanged because "
        "the batch mean absorbs the bias anyway. In a script: `use_bias=False` on the layer's "
        "constructor (safe when the script loads no weights, else unsafe)."
    ),
    fix_safety="Safe: the folded model computes the same function in inference and training mode.",
    examples=(
        Example(
            "Conv2D with a bias before BN", CONV_BN.format(args="") + "x = layers.BatchNormalization()(x)\n" + HEAD
        ),
        Example(
            "Dense with a bias before BN in a Sequential model",
            "model = keras.Sequential([keras.Input((16,)), layers.Dense(8), layers.BatchNormalization(), "
            "layers.ReLU(), layers.Dense(2)])",
        ),
        Example(
            "Conv2D without bias",
            CONV_BN.format(args=", use_bias=False") + "x = layers.BatchNormalization()(x)\n" + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "an activation between the bias and BN",
            CONV_BN.format(args=", activation='relu'") + "x = layers.BatchNormalization()(x)\n" + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "a U-Net block written in a training script",
            """import keras
from keras import layers


def conv_block(x, filters):
    x = layers.Conv2D(filters, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


inputs = keras.Input((128, 128, 1))
x = conv_block(inputs, 32)
outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile("adam", "binary_crossentropy")
""",
            kind="script",
        ),
        Example(
            "the same block with use_bias=False (script)",
            """import keras
from keras import layers

inputs = keras.Input((128, 128, 1))
x = layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
x = layers.BatchNormalization()(x)
x = layers.Activation("relu")(x)
model = keras.Model(inputs, layers.Conv2D(1, 1, activation="sigmoid")(x))
""",
            fires_on=frozenset(),
            kind="script",
        ),
        Example(
            "the Conv output also feeds a residual Add",
            CONV_BN.format(args=", padding='same'")
            + "y = layers.BatchNormalization()(x)\nx = layers.Add()([x, y])\n"
            + HEAD,
            fires_on=frozenset(),
        ),
    ),
    check_model=check,
    check_script=check_script,
)
