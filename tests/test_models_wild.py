"""Models in the shapes found in public repositories: names with '/', subclassed models
saved without an architecture, exports for inference, networks trained from scratch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from findings import said

import bnlint
from bnlint.inventory import inventory
from bnlint.readers import read_model


def lint(path, **options):
    [result] = bnlint.lint(str(path), **options)["files"]
    assert result["error"] is None, result["error"]
    return result


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("generation", ["keras3", "keras2"])
def test_nested_densenet_every_bn_layer_is_read(models, generation, fmt):
    """tf_keras DenseNet's 'conv1/bn' and 'bn' are two layers, each with its own weights."""
    truth = models.truth("nested-densenet", generation)["bn_layers"]
    with read_model(str(models.path("nested-densenet", generation, fmt)), fmt) as graph:
        report = inventory(graph)
        read = [graph.bn_weights(bn) is not None for bn in graph.bn_layers()]
    assert [row["path"] for row in report["bn_layers"]] == [t["path"] for t in truth]
    assert len(truth) == 121 and all(read) and "notes" not in report
    if generation == "keras2":
        assert 'functional/densenet121/"conv1/bn"' in {t["path"] for t in truth} or any(
            '"conv1/bn"' in t["path"] for t in truth
        )


def test_subclassed_model_is_never_silently_clean(models):
    path = models.path("subclassed", "keras3", "keras")
    result = lint(path)
    assert [d["code"] for d in result["diagnostics"]] == ["BN013"]  # the class is code that runs at load
    assert result["notes"] and "architecture is not serialized" in result["notes"][0]
    done = subprocess.run([sys.executable, "-m", "bnlint", str(path)], capture_output=True, text=True)
    assert done.returncode == 1
    assert "note: the file records no layers" in done.stdout
    assert "1 was only partly checked (see the notes)" in done.stdout


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("generation", ["keras3", "keras2"])
def test_an_export_for_inference_gets_information_not_warnings(models, generation, fmt):
    exported = lint(models.path("exported-unfrozen", generation, fmt))["diagnostics"]
    compiled = lint(models.path("compiled-unfrozen", generation, fmt))["diagnostics"]
    by_code = {d["code"]: d for d in exported}
    assert by_code["BN014"]["severity"] == "info" and by_code["BN014"]["message"].startswith("If fine-tuned")
    assert {d["code"]: d["severity"] for d in compiled}["BN014"] == "warning"
    assert not any(d["message"].startswith("If fine-tuned") for d in compiled)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("generation", ["keras3", "keras2"])
def test_a_network_trained_from_scratch_has_no_pretrained_statistics(models, generation, fmt):
    [bn002] = [d for d in lint(models.path("scratch-trained", generation, fmt))["diagnostics"] if d["code"] == "BN002"]
    assert "pretrained" not in said(bn002)
    assert "the 4 steps this model was already trained" in said(bn002)
    assert "barely moved" in said(bn002)
