"""Recipes for the --fix tests (issue 5): rule examples whose findings carry fixes, with
every weight randomised, and transfer-learning wrappers around keras.applications bases.

Random weights matter: with Keras' initial BN values (gamma 1, beta 0, mean 0, var 1) a
fix that loaded gamma into moving_variance, or beta into moving_mean, would go unseen.
"""

from __future__ import annotations

from bnlint.rules import RULES

from recipes import Recipe

# Distinct random values for every variable; variances and scales kept positive.
RANDOMIZE = """
_rng = np.random.default_rng(5)
for _v in model.weights:
    _positive = any(k in _v.name for k in ("variance", "gamma", "stddev"))
    _value = _rng.uniform(0.5, 2.0, tuple(_v.shape)) if _positive else _rng.normal(0.0, 0.5, tuple(_v.shape))
    _v.assign(_value.astype("float32"))
"""

# (rule code, example title): the examples whose findings carry a model fix.
FIXABLE = [
    ("BN001", "frozen base called without training=False"),
    ("BN001", "frozen base inside a Sequential wrapper"),
    ("BN001", "shared base: one call passes training=False, the other does not"),
    ("BN003", "BN trained with a fixed batch of 4"),
    ("BN003", "fine-tuned base with batch size 8"),
    ("BN008", "Conv2D with a bias before BN"),
    ("BN008", "Dense with a bias before BN in a Sequential model"),
    ("BN012", "unfrozen base called with training=False"),
    ("BN014", "unfrozen base called without training=False"),
    ("BN014", "unfrozen base inside a Sequential wrapper"),
]


def _example(code: str, title: str) -> tuple[int, str]:
    """(index, code) of a rule example, found by title so that reordering cannot mislead."""
    matches = [(i, e.code) for i, e in enumerate(RULES[code].examples) if e.title == title]
    assert matches, f"{code} has no example {title!r}: update tests/recipes_fix.py"
    return matches[0]


def _fixable() -> dict[str, Recipe]:
    recipes = {}
    for code, title in FIXABLE:
        index, source = _example(code, title)
        recipes[f"fix-{code}-{index}"] = Recipe(source + RANDOMIZE)
    return recipes


# A pretrained base from keras.applications (weights=None: nothing is downloaded),
# fine-tuned unfrozen inside a Functional head: BN014 freezes its BN layers.
WRAPPER = """
base = keras.applications.{ctor}(weights=None, include_top=False, input_shape=(32, 32, 3))
inp = keras.Input((32, 32, 3))
x = base(inp)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inp, layers.Dense(3)(x))
"""
APPS = {"resnet50": "ResNet50", "mobilenetv2": "MobileNetV2", "efficientnetb0": "EfficientNetB0"}

# ~94 MB of weights for the kill test: ResNet50 without top, nested and unfrozen.
BIG = """
base = pretend_pretrained(keras.applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3)))
inp = keras.Input((32, 32, 3))
model = keras.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling2D()(base(inp))))
"""

RECIPES = {
    "fix-big": Recipe(BIG, formats=("keras", "h5"), generations=("keras3",)),
    **_fixable(),
    **{f"fix-app-{name}": Recipe(WRAPPER.format(ctor=ctor) + RANDOMIZE) for name, ctor in APPS.items()},
}
