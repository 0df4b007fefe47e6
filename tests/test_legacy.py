"""Legacy Keras (multi-backend Keras <= 2.3.1, tf.keras of TF 1.x): frozen BN normalizes
with batch statistics in training. Files are built by hand in the old formats
(tests/legacy_files.py), and the rule's legacy examples are real tf_keras files saved
under the version string TF 1.x wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import h5py
import legacy_files as legacy
import numpy as np
import pytest
from findings import said

import bnlint
from bnlint.graph import Generation
from bnlint.readers import read_model
from bnlint.rules import RULES

SEQUENTIAL_WEIGHTS = {
    "dense_1": {"dense_1/kernel:0": np.zeros((16, 4), "float32"), "dense_1/bias:0": np.zeros(4, "float32")},
    "bn": legacy.named_bn_arrays("bn"),
    "dense_2": {"dense_2/kernel:0": np.zeros((4, 2), "float32"), "dense_2/bias:0": np.zeros(2, "float32")},
}


def lint(path) -> dict:
    [result] = bnlint.lint(str(path))["files"]
    assert result["error"] is None, result["error"]
    return result


def findings(result: dict, code: str) -> list[dict]:
    return [d for d in result["diagnostics"] if d["code"] == code]


@pytest.mark.parametrize(
    "version, fires, writer",
    [
        ("2.0.8", True, "multi-backend Keras (keras_version 2.0.8)"),
        ("2.2.4", True, "multi-backend Keras (keras_version 2.2.4)"),
        ("2.3.1", True, "multi-backend Keras (keras_version 2.3.1)"),
        ("2.1.6-tf", True, "tf.keras of TensorFlow 1.x (keras_version 2.1.6-tf)"),
        ("2.2.4-tf", True, "tf.keras of TensorFlow 1.x (keras_version 2.2.4-tf)"),
        ("2.3.0-tf", False, None),  # TF 2.2: TF 2 semantics
        ("2.4.0", False, None),  # TF 2.3
    ],
)
def test_frozen_base_by_version(tmp_path, version, fires, writer):
    path = legacy.write(tmp_path / "model.h5", legacy.frozen_base_model(), version, legacy.base_weights())
    result = lint(path)
    found = findings(result, "BN011")
    if not fires:
        assert found == []
        return
    [finding] = found
    assert finding["layer"] == "model_1/base"
    assert "1 BN layer of 'base' is frozen" in said(finding)
    assert writer in said(finding)
    assert list(finding["fix"]["edits"]) == [
        {"kind": "call_kwarg", "target": "model_1/base/bn1", "key": "training", "old": None, "new": False}
    ]
    ambiguous = "TF 2.0 and 2.1 also write '2.2.4-tf'" in said(finding)
    assert ambiguous == (version == "2.2.4-tf")
    assert ("Before Keras 2.1.3" in said(finding)) == (version == "2.0.8")


def test_training_false_protects_frozen_bn(tmp_path):
    config = legacy.frozen_base_model(base_kwargs={"training": False})
    path = legacy.write(tmp_path / "model.h5", config, "2.2.4-tf", legacy.base_weights())
    assert findings(lint(path), "BN011") == []


@pytest.mark.parametrize("bn_class, fires", [("BatchNormalizationV1", True), ("BatchNormalizationV2", False)])
def test_tf_1_13_class_names(tmp_path, bn_class, fires):
    """TF 1.13 wrote BatchNormalizationV1 (v1 behaviour) or BatchNormalizationV2 (frozen -> inference)."""
    path = legacy.write(tmp_path / "model.h5", legacy.frozen_base_model(bn_class), "2.2.4-tf", legacy.base_weights())
    assert bool(findings(lint(path), "BN011")) == fires


def test_legacy_weights_are_read(tmp_path):
    """The hand-built layout is the one Keras 2 wrote: BN006 finds a negative variance in it."""
    variance = np.array([0.5, -1.0, np.nan, 0.8], "float32")
    path = legacy.write(
        tmp_path / "model.h5", legacy.frozen_base_model(), "2.2.4", legacy.base_weights(moving_variance=variance)
    )
    [finding] = findings(lint(path), "BN006")
    assert finding["layer"] == "model_1/base/bn1" and "in 2 of 4 channels" in said(finding)
    with read_model(str(path), "h5") as graph:
        assert graph.generation is Generation.LEGACY
        [bn] = graph.bn_layers()
        np.testing.assert_array_equal(graph.bn_weights(bn)["moving_mean"], np.arange(4))


def test_bare_list_sequential(tmp_path):
    """Keras < 2.2.3 stored a Sequential's config as a bare list; a frozen BN in it."""
    path = legacy.write(tmp_path / "model.h5", legacy.bare_list_sequential(), "2.1.6", SEQUENTIAL_WEIGHTS)
    result = lint(path)
    [finding] = findings(result, "BN011")
    assert finding["layer"].endswith("/bn") and "BN layer 'bn' is frozen" in said(finding)
    assert "Before Keras 2.1.3" not in said(finding)
    process = subprocess.run(
        [sys.executable, "-m", "bnlint", "inspect", str(path), "--format", "json"], capture_output=True, text=True
    )
    [row] = json.loads(process.stdout)["bn_layers"]
    assert row["statistics"]["moving_variance"] == pytest.approx([0.5, 2.0])
    assert row["trains"] is False  # frozen: no updates after 2.1.3, but batch statistics (BN011)


def test_keras1_model(tmp_path):
    """Keras 1: 3-element nodes, BN `mode`, running_mean / running_std weights."""
    gamma, beta, mean, _ = legacy.bn_arrays()
    weights = {
        "input_1": {},
        "dense_1": {"dense_1_W": np.zeros((16, 4), "float32"), "dense_1_b": np.zeros(4, "float32")},
        "batchnormalization_1": {
            "batchnormalization_1_gamma": gamma,
            "batchnormalization_1_beta": beta,
            "batchnormalization_1_running_mean": mean,
            "batchnormalization_1_running_std": np.array([1.0, -2.0, 1.0, 1.0], "float32"),
        },
        "dense_2": {"dense_2_W": np.zeros((4, 2), "float32"), "dense_2_b": np.zeros(2, "float32")},
    }
    path = legacy.write(tmp_path / "model.h5", legacy.keras1_model(), "1.2.2", weights)
    result = lint(path)
    [frozen] = findings(result, "BN011")
    assert "Keras 1 (keras_version 1.2.2)" in said(frozen)
    assert "Before Keras 2.1.3 frozen BN layers even keep updating" in said(frozen)
    [invalid] = findings(result, "BN006")
    assert "moving_variance negative in 1 channel (min -2)" in said(invalid)


def _relabel(source, target, version: str):
    """A real tf_keras .h5 file under the version string and class name TF 1.x wrote."""
    shutil.copy(source, target)
    with h5py.File(target, "r+") as h5:
        config = h5.attrs["model_config"]
        config = config.decode() if isinstance(config, bytes) else config
        h5.attrs["model_config"] = config.replace('"class_name": "Functional"', '"class_name": "Model"').encode()
        h5.attrs["keras_version"] = np.bytes_(version)
    return target


LEGACY_EXAMPLES = [
    pytest.param(rule.code, index, id=f"{rule.code}-{index}")
    for rule in RULES.values()
    for index, example in enumerate(rule.examples)
    if example.kind == "legacy"
]


@pytest.mark.parametrize("code, index", LEGACY_EXAMPLES)
def test_legacy_examples(models, tmp_path, code, index):
    example = RULES[code].examples[index]
    path = _relabel(models.path(f"{code}-{index}", "keras2", "h5"), tmp_path / "model.h5", "2.2.4-tf")
    codes = [d["code"] for d in lint(path)["diagnostics"]]
    assert (code in codes) == ("legacy" in example.fires_on), codes
