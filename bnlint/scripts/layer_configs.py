"""The config a Keras layer would save, from the arguments a script passes to it: what
the structure rules (BN008-BN010) read, in the spelling of a saved model, so that the
same rule code judges scripts and model files.

Only settings those rules use matter. A value bnlint cannot know is written so that
the rules abstain: None for a flag (`use_bias=args.bias`), a placeholder string otherwise.
"""

from __future__ import annotations

import re
from typing import Any

UNKNOWN_SETTING = "<unknown>"
FLAGS = {"use_bias", "center", "scale"}
# Keras 1 class names -> today's.
RENAMED = {
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "Deconvolution2D": "Conv2DTranspose",
    "Deconvolution3D": "Conv3DTranspose",
    "SeparableConvolution2D": "SeparableConv2D",
    "AtrousConvolution2D": "Conv2D",
}
# Settings passed by position, per class (the others' positional arguments do not matter here).
POSITIONAL = {
    "Dropout": ("rate",),
    "SpatialDropout1D": ("rate",),
    "SpatialDropout2D": ("rate",),
    "SpatialDropout3D": ("rate",),
    "GaussianDropout": ("rate",),
    "AlphaDropout": ("rate",),
    "Activation": ("activation",),
    "BatchNormalization": ("axis",),
}
# Keras 1 keyword spellings.
KERAS1 = {"bias": "use_bias", "dim_ordering": "data_format", "p": "rate"}
DIM_ORDERING = {"th": "channels_first", "tf": "channels_last"}


# Layers whose saved config always carries a data_format (Keras writes the default out).
DATA_FORMAT = re.compile(r"(Conv|Pooling|UpSampling|ZeroPadding|Cropping)[123]D|LocallyConnected")


def layer_config(
    class_name: str, args: list[Any], kwargs: dict[str, Any], data_format: str = "channels_last"
) -> tuple[str, dict[str, Any]]:
    """(class name as saved, config) for `class_name(*args, **kwargs)`; `data_format` is the
    image data format in force (`keras.backend.set_image_data_format`)."""
    name = RENAMED.get(class_name, class_name)
    config: dict[str, Any] = {"data_format": data_format} if DATA_FORMAT.search(name) else {}
    for key, value in zip(POSITIONAL.get(name, ()), args, strict=False):
        config[key] = value
    for key, value in kwargs.items():
        key = KERAS1.get(key, key)
        if key == "data_format" and value in DIM_ORDERING:
            value = DIM_ORDERING[value]
        config[key] = value
    for key, value in list(config.items()):
        config[key] = saved(key, value)
    shape = config.pop("input_shape", None)
    if isinstance(shape, list):  # the first layer of a Sequential records its input
        config["batch_input_shape"] = [None, *shape]
    if isinstance(config.get("input_dim"), int):
        config["batch_input_shape"] = [None, config.pop("input_dim")]
    return name, config


def saved(key: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    return None if key in FLAGS else UNKNOWN_SETTING
