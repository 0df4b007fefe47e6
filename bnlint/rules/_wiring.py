"""Who feeds whom inside one model, and which axis carries the channels: what the
structure rules (BN007-BN010) need beyond the model graph itself."""

from __future__ import annotations

import re

from ..graph import BN_CLASSES, Layer

# Layers that change neither the shape nor the meaning of the axes: a BN two steps
# behind a Conv (Conv -> ReLU -> BN) still normalizes the Conv's channels.
ELEMENTWISE = {
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "PReLU",
    "ThresholdedReLU",
    "Softmax",
    "Identity",
    "GaussianNoise",
    "ActivityRegularization",
}
DROPOUT = {
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianDropout",
    "AlphaDropout",
}


RANK_PRESERVING = ELEMENTWISE | DROPOUT | BN_CLASSES | {"Dense", "LayerNormalization", "GroupNormalization"}


def producers(layer: Layer) -> list[Layer]:
    """The sibling layers whose outputs feed any call of `layer`, in order."""
    if layer.parent is None:
        return []
    found: list[Layer] = []
    for node in layer.nodes:
        for name in node.inbound:
            source = layer.parent.find(name)
            if source is not None and source not in found:
                found.append(source)
    return found


def single_producer(layer: Layer) -> Layer | None:
    sources = producers(layer)
    return sources[0] if len(sources) == 1 else None


def consumers(layer: Layer) -> list[Layer] | None:
    """The sibling layers that consume `layer`'s output; None when the output also
    leaves the model (it is one of the parent's outputs)."""
    parent = layer.parent
    if parent is None or layer.name in _output_names(parent):
        return None
    return parent.consumers_of(layer.name)


def _output_names(model: Layer) -> set[str]:
    if model.is_sequential:
        return {model.children[-1].name} if model.children else set()
    outputs = model.config.get("output_layers")
    names: set[str] = set()

    def collect(value: object) -> None:
        if isinstance(value, list):
            if value and isinstance(value[0], str):
                names.add(value[0])
            else:
                for item in value:
                    collect(item)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)

    collect(outputs)
    return names


def upstream(layer: Layer) -> Layer | None:
    """The nearest single producer that is not an elementwise pass-through layer."""
    source = single_producer(layer)
    seen = 0
    while source is not None and source.class_name in ELEMENTWISE and seen < 16:
        source, seen = single_producer(source), seen + 1
    return source


def spatial_rank(layer: Layer) -> int | None:
    """Rank of a Conv/Pooling/... output from its class name (Conv2D -> 4); None otherwise."""
    match = re.search(r"([123])D(?:Transpose)?$", layer.class_name)
    if match is None or layer.class_name.startswith("Global"):
        return None
    return int(match[1]) + 2


def input_rank(layer: Layer) -> int | None:
    """The rank of a layer's input, when the saved config records its shape (build_config)."""
    shape = layer.built_input_shape
    return len(shape) if isinstance(shape, list) and all(not isinstance(d, list) for d in shape) else None


def output_rank(layer: Layer) -> int | None:
    """The rank of a layer's output, from its class or by following rank-preserving
    layers back to a recorded shape (tf_keras .h5 files record no build_config)."""
    for _ in range(64):
        shape = layer.config.get("batch_shape") or layer.config.get("batch_input_shape")
        if layer.class_name == "InputLayer" or (isinstance(shape, list) and layer.class_name in RANK_PRESERVING):
            return len(shape) if isinstance(shape, list) else None  # an input's shape (or a Sequential's first layer's)
        if spatial_rank(layer):
            return spatial_rank(layer)
        if layer.class_name == "Flatten" or (
            layer.class_name.startswith("Global") and not layer.config.get("keepdims")
        ):
            return 2
        if layer.class_name not in RANK_PRESERVING:
            return None
        if input_rank(layer):
            return input_rank(layer)
        source = single_producer(layer)
        if source is None:
            return None
        layer = source
    return None


def bn_axis(bn: Layer) -> int | None:
    """The single axis a BN normalizes over (tf_keras saves [3]); None for several axes."""
    axis = bn.config.get("axis", -1)
    if isinstance(axis, list):
        axis = axis[0] if len(axis) == 1 else None
    return axis if isinstance(axis, int) and not isinstance(axis, bool) else None


def channel_axis(producer: Layer) -> int | None:
    """The channel axis of a producer's output: 1 for channels_first, -1 for
    channels_last and Dense; None when the producer does not say."""
    data_format = producer.config.get("data_format") or DIM_ORDERING.get(producer.config.get("dim_ordering"))
    if data_format == "channels_first":
        return 1
    if data_format == "channels_last" or producer.class_name in ("Dense", "EinsumDense"):
        return -1
    return None


# Keras 1 configs say `dim_ordering` where Keras 2 says `data_format`.
DIM_ORDERING = {"th": "channels_first", "tf": "channels_last"}


def downstream_channel_axis(bn: Layer) -> tuple[Layer, int] | None:
    """For a BN fed by the model's input (or by a layer without a data_format): the first
    layer after it, through elementwise layers, that says where its input's channels are."""
    layer, seen = bn, 0
    while seen < 16:
        users = consumers(layer)
        if not users or len(users) != 1:
            return None
        layer, seen = users[0], seen + 1
        axis = channel_axis(layer) if layer.class_name not in ("Dense", "EinsumDense") else None
        if axis is not None:
            return layer, axis
        if layer.class_name not in ELEMENTWISE:
            return None
    return None


def same_axis(a: int, b: int, rank: int | None) -> bool | None:
    """Whether two axes are the same; None when that depends on an unknown rank."""
    if (a < 0) == (b < 0):
        return a == b
    if rank is None:
        return None
    return a % rank == b % rank
