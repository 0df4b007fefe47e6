"""What the structure rules (BN007-BN010) say and which fix they propose, on the rule
examples and on real keras.applications models."""

from __future__ import annotations

import pytest
from findings import said

import bnlint

FORMATS = [
    pytest.param(generation, fmt, id=f"{generation}-{fmt}")
    for generation in ("keras3", "keras2")
    for fmt in ("keras", "h5", "savedmodel")
    if not (generation == "keras3" and fmt == "savedmodel")
]


def only(path, code: str) -> dict:
    [result] = bnlint.lint(str(path), select=[code])["files"]
    assert result["error"] is None
    [finding] = result["diagnostics"]
    return finding


@pytest.mark.parametrize("generation, fmt", [("keras3", "keras"), ("keras2", "h5")])
def test_resnet50_biases_are_one_grouped_finding(models, generation, fmt):
    """ResNet50 puts a biased Conv2D before each of its 53 BN layers."""
    finding = only(models.path("resnet50", generation, fmt), "BN008")
    assert (
        finding["severity"] == "info" and finding["message"] == "53 layers with use_bias=True feed only a BN layer each"
    )
    assert "conv1_conv" in finding["detail"]
    edits = finding["fix"]["edits"]
    assert sum(e["key"] == "use_bias" and e["new"] is False for e in edits) == 53
    assert sum(e["kind"] == "weights" and e["key"] == "moving_mean" for e in edits) == 53


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_axis_mismatch_names_both_layers_and_the_fix(models, generation, fmt):
    finding = only(models.path("BN009-0", generation, fmt), "BN009")
    axis = -1 if generation == "keras3" else 3  # tf_keras saves the built axis as [3]
    assert finding["message"] == f"BN layer 'batch_normalization' normalizes axis {axis}, not the channel axis 1"
    assert "its input comes from Conv2D 'conv2d' (channels_first)" in said(finding)
    [edit] = finding["fix"]["edits"]
    assert edit["key"] == "axis" and edit["new"] in (1, [1])
    assert finding["fix"]["applicability"] == "unsafe"


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_dropout_before_bn_message(models, generation, fmt):
    finding = only(models.path("BN010-0", generation, fmt), "BN010")
    assert finding["message"].startswith("Dropout 'dropout' (rate 0.5) feeds BN layer 'batch_normalization'")


@pytest.mark.parametrize("generation, fmt", FORMATS)
@pytest.mark.parametrize("index, bounds", [(0, "rmax=3, dmax=5"), (1, "rmax=unbounded, dmax=unbounded")])
def test_renorm_message_gives_the_clipping(models, generation, fmt, index, bounds):
    finding = only(models.path(f"BN007-{index}", generation, fmt), "BN007")
    assert finding["message"] == "BN layer 'batch_normalization' uses Batch Renormalization without a warm-up"
    assert f"{bounds} from the first step" in finding["detail"]
