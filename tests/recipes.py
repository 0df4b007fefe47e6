"""Every model the tests need, as code run by keras_factory.py with real Keras.

Rule examples (bnlint.rules) are recipes too, named `<CODE>-<n>`: the rule
documentation and the test fixtures are the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

from bnlint.rules import RULES

ALL_FORMATS = ("keras", "h5", "savedmodel")


@dataclass(frozen=True)
class Recipe:
    code: str
    formats: tuple[str, ...] = ALL_FORMATS
    generations: tuple[str, ...] = ("keras3", "keras2")


def _example_recipes() -> dict[str, Recipe]:
    recipes = {}
    for rule in RULES.values():
        for index, example in enumerate(rule.examples):
            if example.kind == "model":
                recipes[f"{rule.code}-{index}"] = Recipe(example.code)
    return recipes


_HEAD = "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))\n"

TRANSFER = {
    # A base built on base.output: the flat form most older scripts use.
    "flat-head": Recipe(
        "base = make_base()\nx = layers.GlobalAveragePooling2D()(base.output)\n"
        "model = keras.Model(base.input, layers.Dense(2)(x))\n"
    ),
    # Trained one epoch so the file records optimizer iterations (4 steps).
    "trained-unfrozen": Recipe(
        "base = make_base()\ninp = keras.Input((8, 8, 3))\nx = base(inp)\n" + _HEAD + "model.compile('sgd', 'mse')\n"
        "model.fit(np.random.rand(64, 8, 8, 3), np.random.rand(64, 2), batch_size=16, epochs=1, verbose=0)\n"
    ),
}

# Files that store no architecture: bnlint must say so, not guess.
NO_ARCHITECTURE = {
    "weights-only": Recipe(
        "inp = keras.Input((4,))\nmodel = keras.Model(inp, layers.BatchNormalization()(layers.Dense(3)(inp)))",
        formats=("weights", "legacy-weights", "export"),
    ),
}

# keras.applications families with weights=None (nothing is downloaded).
APPLICATIONS = {
    name: Recipe(
        f"model = keras.applications.{ctor}(weights=None, include_top=False, input_shape={shape})",
        formats=("keras", "h5"),
    )
    for name, ctor, shape in [
        ("resnet50", "ResNet50", (64, 64, 3)),
        ("mobilenetv2", "MobileNetV2", (96, 96, 3)),
        ("efficientnetb0", "EfficientNetB0", (64, 64, 3)),
        ("densenet121", "DenseNet121", (64, 64, 3)),
        ("inceptionv3", "InceptionV3", (96, 96, 3)),
        ("nasnetmobile", "NASNetMobile", (224, 224, 3)),
    ]
}


def _topic_recipes() -> dict[str, Recipe]:
    """Recipes that other test modules keep beside them, in tests/recipes_<topic>.py."""
    import importlib
    import pkgutil
    from pathlib import Path

    found: dict[str, Recipe] = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("recipes_"):
            found.update(importlib.import_module(info.name).RECIPES)
    return found


RECIPES: dict[str, Recipe] = {**_example_recipes(), **TRANSFER, **NO_ARCHITECTURE, **APPLICATIONS, **_topic_recipes()}
