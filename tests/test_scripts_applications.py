"""The applications table that resolves `base.layers[a:b]` in scripts agrees with the
layer lists of bases built and saved by real Keras 3 and tf_keras."""

from __future__ import annotations

import pytest
from recipes_scripts import TABLE_CHECKS

from bnlint.graph import Generation
from bnlint.readers import read_model
from bnlint.scripts.applications import lookup


@pytest.mark.parametrize("generation", ["keras3", "keras2"])
@pytest.mark.parametrize("recipe", sorted(TABLE_CHECKS))
def test_table_matches_saved_layer_lists(models, recipe, generation):
    graph = read_model(str(models.path(recipe, generation, "keras")), "keras")
    # Symbolic ops (`x + 3`, module keras.src.ops) are saved among the layers but are not in model.layers.
    layers = [layer for layer in graph.root.children if not (layer.module or "").startswith("keras.src.ops")]
    info = lookup(TABLE_CHECKS[recipe], Generation(generation))
    assert info.layers == len(layers)
    assert list(info.bn) == [index for index, layer in enumerate(layers) if layer.is_bn]
    truth = models.truth(recipe, generation)["bn_layers"]
    assert set(info.momentum) == {row["momentum"] for row in truth}
