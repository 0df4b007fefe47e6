"""bnlint's view of real keras.applications models equals Keras's own view."""

from __future__ import annotations

import pytest

from bnlint.inventory import inventory
from bnlint.readers import read_model

from recipes import APPLICATIONS

EXPECTED = {  # (BN layers, momenta) as keras-formats.md §3 measured them
    "resnet50": (53, {0.99}),
    "mobilenetv2": (52, {0.999}),
    "efficientnetb0": (49, {0.99}),
    "densenet121": (121, {0.99}),
    "inceptionv3": (94, {0.99}),
    "nasnetmobile": (192, {0.9997}),
}


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("generation", ["keras3", "keras2"])
@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_inventory_matches_keras(models, name, generation, fmt):
    truth = models.truth(name, generation)["bn_layers"]
    path = models.path(name, generation, fmt)
    rows = inventory(read_model(str(path), fmt))["bn_layers"]

    assert [r["path"] for r in rows] == [t["path"] for t in truth]
    assert [r["momentum"] for r in rows] == pytest.approx([t["momentum"] for t in truth])
    assert [r["epsilon"] for r in rows] == pytest.approx([t["epsilon"] for t in truth])
    assert [r["trainable"] for r in rows] == [t["trainable"] for t in truth]
    count, momenta = EXPECTED[name]
    assert len(rows) == count
    assert sorted({r["momentum"] for r in rows}) == pytest.approx(sorted(momenta))


@pytest.mark.parametrize("generation", ["keras3", "keras2"])
def test_inception_has_no_scale(models, generation):
    """InceptionV3 uses scale=False: Keras stores 3 BN variables, bnlint sees scale off."""
    graph = read_model(str(models.path("inceptionv3", generation, "keras")), "keras")
    truth = models.truth("inceptionv3", generation)["bn_layers"]
    assert {t["variables"] for t in truth} == {3}
    assert {bn.config.get("scale") for bn in graph.bn_layers()} == {False}
