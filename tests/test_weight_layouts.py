"""BN weights in every legacy .h5 layout that a Keras release writes, built by hand with
h5py in the exact shape each writer produces (groups, weight_names, dataset names, root
attributes) where that Keras cannot be installed here:

- Keras 3.0-3.2: a layer's variables under bare names (`gamma`) in its own group;
- Keras >= 3.3: `bn1/gamma`, and `seq/bn1/gamma` for layers inside a Sequential;
- tf_keras: `bn1/gamma:0`, and layer names containing '/' (DenseNet's `conv1/bn`);
- Keras 1: `bn1_running_mean` / `bn1_running_std` (std holds the variance since 1.0.7).

Each file carries a NaN in exactly one BN layer: BN006 must name that layer and no other,
which shows that every layer's weights were read, and read from the right place.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import bnlint
from bnlint.graph import split_path
from bnlint.inventory import inspect_file

BN = ["gamma", "beta", "moving_mean", "moving_variance"]


def bn_config(**extra) -> dict:
    return {"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True, **extra}


def node(*names: str) -> list:
    return [[[name, 0, 0, {}] for name in names]]


def functional(name: str, layers: list[dict], output: str) -> dict:
    return {
        "class_name": "Functional",
        "name": name,
        "config": {
            "name": name,
            "layers": layers,
            "input_layers": [["input", 0, 0]],
            "output_layers": [[output, 0, 0]],
        },
    }


def layer(class_name: str, name: str, inbound: list | None = None, **config) -> dict:
    entry = {"class_name": class_name, "name": name, "config": {"name": name, **config}}
    entry["inbound_nodes"] = inbound if inbound is not None else []
    return entry


INPUT = layer("InputLayer", "input", batch_shape=[None, 4, 4, 3])


def values(bad: bool) -> dict[str, np.ndarray]:
    arrays = {
        "gamma": np.full(3, 1.5, "float32"),
        "beta": np.full(3, 0.1, "float32"),
        "moving_mean": np.full(3, 0.2, "float32"),
        "moving_variance": np.full(3, 0.8, "float32"),
    }
    if bad:
        arrays["moving_variance"][1] = np.nan
    return arrays


def write(path, model_config: dict, version: str, groups: list[tuple[str, list[tuple[str, np.ndarray]]]], legacy=False):
    """A model file in the shape Keras' legacy writer gives it (groups in sorted order)."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = np.bytes_(version.encode()) if legacy else version
        if not legacy:
            f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [name.encode() for name, _ in groups]
        for name, stored in sorted(groups):
            group = weights.create_group(name)
            group.attrs["weight_names"] = [w.encode() for w, _ in stored] or np.zeros(0)
            for weight, array in stored:
                group.create_dataset(weight, data=array)
    return path


def named(prefix: str, arrays: dict, suffix: str = "") -> list[tuple[str, np.ndarray]]:
    return [(f"{prefix}{name}{suffix}", arrays[name]) for name in BN]


def keras30(path):
    """Keras 3.0.5 (jax): bare variable names in each layer's own top-level group."""
    config = functional(
        "model",
        [
            INPUT,
            layer("BatchNormalization", "bn1", node("input"), **bn_config()),
            layer("BatchNormalization", "bn2", node("bn1"), **bn_config()),
        ],
        "bn2",
    )
    groups = [("input", []), ("bn1", named("", values(False))), ("bn2", named("", values(True)))]
    return write(path, config, "3.0.5", groups), "model/bn2"


def keras33_nested(path):
    """Keras >= 3.3: a nested Functional base keeps `bn1/gamma` ... in its one group."""
    base = functional(
        "base",
        [
            INPUT,
            layer("BatchNormalization", "bn1", node("input"), **bn_config()),
            layer("BatchNormalization", "bn2", node("bn1"), **bn_config()),
        ],
        "bn2",
    )
    base["inbound_nodes"] = node("input")
    config = functional("model", [INPUT, base], "base")
    stored = named("bn1/", values(True)) + named("bn2/", values(False))
    return write(path, config, "3.15.1", [("input", []), ("base", stored)]), "model/base/bn1"


def keras33_sequential(path):
    """Keras >= 3.3: the layers of a Sequential are named behind its own name (`seq/bn1/gamma`)."""
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "seq",
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "input", "batch_shape": [None, 3]}},
                {"class_name": "BatchNormalization", "config": {"name": "bn1", **bn_config()}},
                {"class_name": "BatchNormalization", "config": {"name": "bn2", **bn_config()}},
            ],
        },
    }
    groups = [("bn1", named("seq/bn1/", values(False))), ("bn2", named("seq/bn2/", values(True)))]
    return write(path, config, "3.15.1", groups), "seq/bn2"


def tf_keras_slash_names(path):
    """tf_keras DenseNet names a layer `conv1/bn` and its last BN `bn`: neither may take the
    other's weights (a suffix match once skipped `bn`)."""
    base = functional(
        "densenet",
        [
            INPUT,
            layer("BatchNormalization", "conv1/bn", node("input"), **bn_config(axis=[3])),
            layer("BatchNormalization", "bn", node("conv1/bn"), **bn_config(axis=[3])),
        ],
        "bn",
    )
    base["inbound_nodes"] = node("input")
    config = functional("model", [INPUT, base], "densenet")
    stored = named("conv1/bn/", values(False), ":0") + named("bn/", values(True), ":0")
    return write(path, config, "2.15.0", [("input", []), ("densenet", stored)]), "model/densenet/bn"


def keras1(path):
    """Keras 1.2.2: `bn1_running_std` holds the variance; no backend attribute."""
    entry = {
        "class_name": "BatchNormalization",
        "name": "bn1",
        "config": {"name": "bn1", "mode": 0, "axis": -1, "momentum": 0.99, "epsilon": 0.001},
        "inbound_nodes": [[["input", 0, 0]]],
    }
    config = {
        "class_name": "Model",
        "config": {
            "name": "model",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "name": "input",
                    "config": {"name": "input", "batch_input_shape": [None, 3]},
                    "inbound_nodes": [],
                },
                entry,
            ],
            "input_layers": [["input", 0, 0]],
            "output_layers": [["bn1", 0, 0]],
        },
    }
    arrays = values(True)
    stored = [
        (f"bn1_{name}", arrays[key])
        for name, key in (
            ("gamma", "gamma"),
            ("beta", "beta"),
            ("running_mean", "moving_mean"),
            ("running_std", "moving_variance"),
        )
    ]
    return write(path, config, "1.2.2", [("input", []), ("bn1", stored)], legacy=True), "model/bn1"


LAYOUTS = {
    "keras-3.0-bare-names": keras30,
    "keras-3.3-nested": keras33_nested,
    "keras-3.3-sequential-prefix": keras33_sequential,
    "tf_keras-slash-names": tf_keras_slash_names,
    "keras-1-running-std": keras1,
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_bn_layer_is_read_from_its_own_place(tmp_path, layout):
    path, bad_layer = LAYOUTS[layout](tmp_path / "model.h5")
    [result] = bnlint.lint(str(path), select=["BN006"])["files"]
    assert result["error"] is None, result["error"]
    assert "notes" not in result, result.get("notes")  # every BN layer's weights were found
    assert [d["layer"] for d in result["diagnostics"]] == [bad_layer]


def test_slash_names_are_quoted_in_layer_paths(tmp_path):
    """'densenet/"conv1/bn"' is one layer, 'densenet/bn' another: paths are unambiguous."""
    path, _ = tf_keras_slash_names(tmp_path / "model.h5")
    report, error = inspect_file(str(path))
    assert error is None
    assert [row["path"] for row in report["bn_layers"]] == ['model/densenet/"conv1/bn"', "model/densenet/bn"]
    assert split_path('model/densenet/"conv1/bn"') == ["model", "densenet", "conv1/bn"]
