"""Which variables a layer has, in Keras' creation order (the order of `.keras` vars/<i>).

Only the layers a weight fix touches are described: BN (bnlint.weights knows its
variables) and the Dense/Conv layers whose bias BN008 folds; anything else is refused
rather than guessed.
"""

from __future__ import annotations

from ..edits import Unsupported
from ..graph import Layer
from ..weights import RENORM_VARIABLES, variable_names

# Variables never trained by gradient: they sort after the trainable ones in legacy .h5.
NON_TRAINABLE = {"moving_mean", "moving_variance", *RENORM_VARIABLES, "mean", "variance", "count"}
KERNELS = {
    **dict.fromkeys(
        ["Dense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"], ["kernel"]
    ),
    **dict.fromkeys(["DepthwiseConv1D", "DepthwiseConv2D"], ["depthwise_kernel"]),
    **dict.fromkeys(["SeparableConv1D", "SeparableConv2D"], ["depthwise_kernel", "pointwise_kernel"]),
}


def variables(layer: Layer) -> list[str]:
    if layer.is_bn:
        return variable_names(layer.config)
    if layer.class_name in KERNELS:
        return KERNELS[layer.class_name] + ["bias"] * bool(layer.config.get("use_bias", True))
    raise Unsupported(f"'{layer.path}' is a {layer.class_name}: bnlint does not know its weight layout")
