"""Hand-built `.h5` model files in the formats of Keras versions that cannot be
installed here (multi-backend Keras 1.x/2.x, tf.keras of TF 1.x), written with h5py
from the documented layout (keras-formats.md §1-§2):

- root attributes `keras_version`, `backend`, `model_config` (JSON), stored as fixed
  length byte strings as old h5py did;
- `model_weights/<layer>/` with a `weight_names` attribute and one dataset per name;
- Keras 2: nodes `[[name, node_index, tensor_index, kwargs]]`, a nested model's
  consumers refer to its node 1, class name `Model` (TF <= 2.3);
- Keras < 2.2.3: a Sequential's `config` is the bare list of its layers;
- Keras 1: nodes `[[name, node_index, tensor_index]]`, BN with `mode` and weights
  `<layer>_running_mean` / `<layer>_running_std` (which held the variance).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

CHANNELS = 4


def _init(name: str) -> dict[str, Any]:
    return {"class_name": name, "config": {}}


def bn_config(name: str, trainable: bool = True, keras1: bool = False) -> dict[str, Any]:
    config = {"name": name, "trainable": trainable, "axis": -1, "momentum": 0.99, "epsilon": 0.001}
    if keras1:
        return config | {"mode": 0, "beta_init": "zero", "gamma_init": "one"}
    return config | {
        "center": True,
        "scale": True,
        "beta_initializer": _init("Zeros"),
        "gamma_initializer": _init("Ones"),
        "moving_mean_initializer": _init("Zeros"),
        "moving_variance_initializer": _init("Ones"),
        "beta_regularizer": None,
        "gamma_regularizer": None,
        "beta_constraint": None,
        "gamma_constraint": None,
    }


def conv_config(name: str, trainable: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "trainable": trainable,
        "filters": CHANNELS,
        "kernel_size": [3, 3],
        "strides": [1, 1],
        "padding": "same",
        "data_format": "channels_last",
        "activation": "linear",
        "use_bias": False,
    }


def _entry(class_name: str, config: dict[str, Any], inbound: list | None = None) -> dict[str, Any]:
    entry = {"name": config["name"], "class_name": class_name, "config": config}
    if inbound is not None:
        entry["inbound_nodes"] = inbound
    return entry


def _node(*sources: tuple[str, int], kwargs: dict | None = None, keras1: bool = False) -> list:
    if keras1:
        return [[[name, index, 0] for name, index in sources]]
    return [[[name, index, 0, kwargs or {}] for name, index in sources]]


def frozen_base_model(bn_class: str = "BatchNormalization", base_kwargs: dict | None = None) -> dict[str, Any]:
    """Model(input -> base (frozen: conv1 -> bn1) -> pooling -> dense), Keras 2 style."""
    base = {
        "name": "base",
        "trainable": False,
        "layers": [
            _entry("InputLayer", {"name": "input_2", "batch_input_shape": [None, 8, 8, 3], "dtype": "float32"}, []),
            _entry("Conv2D", conv_config("conv1", False), _node(("input_2", 0))),
            _entry(bn_class, bn_config("bn1", False), _node(("conv1", 0))),
        ],
        "input_layers": [["input_2", 0, 0]],
        "output_layers": [["bn1", 0, 0]],
    }
    return {
        "class_name": "Model",
        "config": {
            "name": "model_1",
            "layers": [
                _entry("InputLayer", {"name": "input_1", "batch_input_shape": [None, 8, 8, 3], "dtype": "float32"}, []),
                _entry("Model", base, _node(("input_1", 0), kwargs=base_kwargs)),
                _entry("GlobalAveragePooling2D", {"name": "gap", "trainable": True}, _node(("base", 1))),
                _entry(
                    "Dense", {"name": "dense_1", "trainable": True, "units": 2, "use_bias": True}, _node(("gap", 0))
                ),
            ],
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["dense_1", 0, 0]],
        },
    }


def bare_list_sequential() -> dict[str, Any]:
    """Keras < 2.2.3: Sequential([Dense, BN (frozen), Dense]) with its config a bare list."""
    return {
        "class_name": "Sequential",
        "config": [
            {"class_name": "Dense", "config": {"name": "dense_1", "units": CHANNELS, "batch_input_shape": [None, 16]}},
            {"class_name": "BatchNormalization", "config": bn_config("bn", trainable=False)},
            {"class_name": "Dense", "config": {"name": "dense_2", "units": 2}},
        ],
    }


def keras1_model() -> dict[str, Any]:
    """Keras 1: Model(input -> dense -> BN (frozen, mode 0) -> dense), 3-element nodes."""
    return {
        "class_name": "Model",
        "config": {
            "name": "model_1",
            "layers": [
                _entry("InputLayer", {"name": "input_1", "batch_input_shape": [None, 16]}, []),
                _entry("Dense", {"name": "dense_1", "output_dim": CHANNELS}, _node(("input_1", 0), keras1=True)),
                _entry(
                    "BatchNormalization",
                    bn_config("batchnormalization_1", trainable=False, keras1=True),
                    _node(("dense_1", 0), keras1=True),
                ),
                _entry("Dense", {"name": "dense_2", "output_dim": 2}, _node(("batchnormalization_1", 0), keras1=True)),
            ],
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["dense_2", 0, 0]],
        },
    }


def bn_arrays(moving_variance: np.ndarray | None = None) -> list[np.ndarray]:
    """gamma, beta, moving_mean, moving_variance of a trained-looking BN layer."""
    variance = np.array([0.5, 1.5, 2.0, 0.8], "float32") if moving_variance is None else moving_variance
    return [
        np.full(CHANNELS, 1.2, "float32"),
        np.full(CHANNELS, 0.1, "float32"),
        np.arange(CHANNELS, dtype="float32"),
        variance,
    ]


def write(
    path: Path, model_config: dict[str, Any], keras_version: str, weights: dict[str, dict[str, np.ndarray]]
) -> Path:
    """weights: top-level layer name -> {weight name as Keras wrote it: array}."""
    with h5py.File(path, "w") as h5:
        h5.attrs["keras_version"] = np.bytes_(keras_version)
        h5.attrs["backend"] = np.bytes_("tensorflow")
        h5.attrs["model_config"] = np.bytes_(json.dumps(model_config))
        group = h5.create_group("model_weights")
        group.attrs["layer_names"] = np.array([name.encode() for name in weights], dtype="S")
        for layer, arrays in weights.items():
            layer_group = group.create_group(layer)
            layer_group.attrs["weight_names"] = np.array([name.encode() for name in arrays], dtype="S")
            for name, array in arrays.items():
                layer_group[name] = array
    return path


def named_bn_arrays(layer: str, moving_variance: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """{'bn1/gamma:0': ..., 'bn1/beta:0': ..., ...} as Keras 2 named a BN layer's weights."""
    names = ("gamma", "beta", "moving_mean", "moving_variance")
    return {f"{layer}/{name}:0": array for name, array in zip(names, bn_arrays(moving_variance), strict=True)}


def base_weights(moving_variance: np.ndarray | None = None) -> dict[str, dict[str, np.ndarray]]:
    """The weights of frozen_base_model()."""
    base = {"conv1/kernel:0": np.zeros((3, 3, 3, CHANNELS), "float32"), **named_bn_arrays("bn1", moving_variance)}
    return {
        "input_1": {},
        "base": base,
        "gap": {},
        "dense_1": {"dense_1/kernel:0": np.zeros((CHANNELS, 2), "float32"), "dense_1/bias:0": np.zeros(2, "float32")},
    }
