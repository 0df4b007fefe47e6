"""Models for the script-linting tests: keras.applications bases whose layer lists must
match the table bnlint uses to resolve `base.layers[...]` slices in scripts."""

from __future__ import annotations

from recipes import Recipe

TABLE_CHECKS = {
    "scripts-MobileNetV2": "MobileNetV2",  # 154 layers, BN momentum 0.999
    "scripts-MobileNetV3Small": "MobileNetV3Small",  # Keras 3 and tf_keras differ: 157 vs 229 layers
}

RECIPES = {
    name: Recipe(
        f"model = keras.applications.{app}(weights=None, include_top=False, input_shape=(96, 96, 3))",
        formats=("keras",),
    )
    for name, app in TABLE_CHECKS.items()
}
