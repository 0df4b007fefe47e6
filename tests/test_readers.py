"""Readers on the older shapes Keras has written: bytes attributes, Keras 1/2.0-era
node lists, "Model" class names, Sequential configs stored as a bare list."""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version

import h5py
import numpy as np
import pytest

import bnlint
from bnlint.graph import Generation, generation_of
from bnlint.readers import read_model


def test_bytes_attributes_from_old_h5py(tmp_path, models):
    """Files written by h5py 2 return bytes for model_config and keras_version."""
    path = tmp_path / "old.h5"
    shutil.copy(models.path("BN001-0", "keras2", "h5"), path)
    with h5py.File(path, "r+") as handle:
        for key in ("model_config", "keras_version", "backend"):
            value = handle.attrs[key]
            handle.attrs[key] = np.bytes_(value.encode() if isinstance(value, str) else value)
        assert isinstance(handle.attrs["model_config"], bytes)
    graph = read_model(str(path), "h5")
    assert graph.keras_version == version("tf_keras")  # whatever tf_keras==2.21.* installed
    assert [d["code"] for d in bnlint.lint(str(path))["files"][0]["diagnostics"]] == ["BN001"]


def _bn(name, trainable=True):
    return {
        "class_name": "BatchNormalization",
        "config": {"name": name, "trainable": trainable, "axis": -1, "momentum": 0.99, "epsilon": 0.001},
    }


def _keras1_style_model(keras_version: str):
    """A Keras 1 / early Keras 2 file: 3-element inbound entries, class "Model",
    and a frozen Sequential base whose config is a bare list of layers."""
    base = {
        "class_name": "Sequential",
        "name": "base",
        "config": [
            {
                "class_name": "Conv2D",
                "config": {"name": "conv", "trainable": False, "batch_input_shape": [None, 8, 8, 3]},
            },
            _bn("bn", trainable=False),
        ],
        "inbound_nodes": [[["input_1", 0, 0]]],
    }
    return {
        "class_name": "Model",
        "config": {
            "name": "model_1",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "name": "input_1",
                    "config": {"batch_input_shape": [None, 8, 8, 3]},
                    "inbound_nodes": [],
                },
                base,
                {
                    "class_name": "Dense",
                    "name": "head",
                    "config": {"name": "head"},
                    "inbound_nodes": [[["base", 1, 0]]],
                },
            ],
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["head", 0, 0]],
        },
    }


def _write_h5(path, config, keras_version):
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = np.bytes_(keras_version.encode())
        handle.attrs["backend"] = np.bytes_(b"tensorflow")
        handle.attrs["model_config"] = np.bytes_(json.dumps(config).encode())


def test_keras1_era_config(tmp_path):
    path = tmp_path / "legacy.h5"
    _write_h5(path, _keras1_style_model("2.1.2"), "2.1.2")
    graph = read_model(str(path), "h5")
    assert graph.generation is Generation.LEGACY
    assert [layer.path for layer in graph.layers()] == [
        "model_1",
        "model_1/input_1",
        "model_1/base",
        "model_1/base/conv",
        "model_1/base/bn",
        "model_1/head",
    ]
    base = graph.layer("model_1/base")
    assert base.is_sequential and not base.trainable
    assert [n.inbound for n in graph.layer("model_1/head").nodes] == [["base"]]
    assert [n.kwargs for n in base.nodes] == [{}]
    codes = [d["code"] for d in bnlint.lint(str(path))["files"][0]["diagnostics"]]
    assert "BN001" in codes


@pytest.mark.parametrize(
    "written_by, generation",
    [
        ("3.0.0", Generation.KERAS3),  # the first Keras 3
        ("2.21.0", Generation.KERAS2),
        ("2.15.0", Generation.KERAS2),  # the last tf.keras of TF
        ("2.4.0", Generation.KERAS2),  # TF 2.3 wrote 2.4.0 ...
        ("2.3.1", Generation.LEGACY),  # ... the last multi-backend Keras is one step below
        ("2.3.0-tf", Generation.KERAS2),  # TF 2.2: the -tf suffix from 2.3 on is TF 2 ...
        ("2.2.4-tf", Generation.LEGACY),  # ... below it TF 1.13-1.15 (and TF 2.0/2.1)
        ("2.2.5", Generation.LEGACY),  # multi-backend Keras 2.2.x
        ("2.1.3", Generation.LEGACY),  # frozen BN stopped updating its statistics here ...
        ("2.1.2", Generation.LEGACY),  # ... and updated them before (both legacy: batch statistics)
        ("1.2.2", Generation.LEGACY),
        (None, Generation.KERAS3),  # nothing recorded: the generation a new file most likely comes from
    ],
)
def test_generation_boundaries(written_by, generation):
    assert generation_of(written_by) is generation
