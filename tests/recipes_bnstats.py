"""Recipes for issue 3: BN weights with known or corrupted values, code in models, a
100 MB model, more keras.applications families, and the legacy rule examples."""

from __future__ import annotations

from bnlint.rules import RULES

from recipes import Recipe

# Every BN variable gets arange(channels) + seed + 10 * position, so a test can tell
# each array (and each layer) apart from what bnlint reads.
KNOWN = """
def known(bn, seed):
    count = bn.get_weights()[0].shape[0]
    bn.set_weights([np.arange(count, dtype="float32") + seed + 10 * i for i in range(len(bn.get_weights()))])

base = make_base()
inp = keras.Input((8, 8, 3))
x = base(inp)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(6, use_bias=False)(x)
top = layers.BatchNormalization(name="top_bn", scale=False)
x = top(x)
model = keras.Model(inp, layers.Dense(2)(x))
known(base.get_layer("bn1"), 0.25)
known(base.get_layer("bn2"), 0.5)
known(top, 0.75)
"""
KNOWN_SEEDS = {"base/bn1": 0.25, "base/bn2": 0.5, "top_bn": 0.75}

RENORM_NAN = """
inp = keras.Input((16,))
x = layers.Dense(8, use_bias=False)(inp)
bn = layers.BatchNormalization(name="rn", renorm=True, renorm_clipping={"rmax": 1.0, "rmin": 1.0, "dmax": 0.0})
x = bn(x)
model = keras.Model(inp, layers.Dense(2)(x))
weights = bn.get_weights()
weights[4][2] = np.nan  # moving_stddev, the first of renorm's three extra variables
bn.set_weights(weights)
"""

# scale=False keeps beta only (InceptionV3's layout); with center=False too nothing shows training.
PARTIAL_AFFINE = """
inp = keras.Input((16,))
x = layers.Dense(8, use_bias=False)(inp)
beta_only = layers.BatchNormalization(name="beta_only", scale=False)
no_affine = layers.BatchNormalization(name="no_affine", scale=False, center=False)
x = no_affine(beta_only(x))
model = keras.Model(inp, layers.Dense(2)(x))
beta, mean, var = beta_only.get_weights()
beta_only.set_weights([beta + 0.3, mean, var])
"""

# The Lambda creates the file named by $BNLINT_MARKER whenever it runs (never while the
# factory builds it: the variable is unset there).
MARKER_LAMBDA = """
touch = lambda t: (
    __import__("os").environ.get("BNLINT_MARKER") and open(__import__("os").environ["BNLINT_MARKER"], "w").close(), t
)[1]
inp = keras.Input((4,))
x = layers.Lambda(touch, name="touch")(inp)
x = layers.BatchNormalization()(x)
model = keras.Model(inp, layers.Dense(2)(x))
"""

# The same Lambda in a model that also has a fixable finding (BN008: Dense bias before BN),
# so that --fix writes and --verify would load the model with Keras.
MARKER_LAMBDA_FIXABLE = """
touch = lambda t: (
    __import__("os").environ.get("BNLINT_MARKER") and open(__import__("os").environ["BNLINT_MARKER"], "w").close(), t
)[1]
inp = keras.Input((4,))
x = layers.Dense(8, name="dense_biased")(inp)
x = layers.BatchNormalization()(x)
x = layers.Lambda(touch, name="touch")(x)
model = keras.Model(inp, layers.Dense(2)(x))
"""

CUSTOM_OBJECTS = """
@keras.saving.register_keras_serializable(package="acme")
class Scale(layers.Layer):
    def call(self, x):
        return x * 2.0

def swishish(t):
    return t * keras.activations.sigmoid(t)

inp = keras.Input((16,))
x = layers.Dense(8, activation=swishish, name="dense_custom")(inp)
x = Scale(name="scale")(x)
model = keras.Model(inp, layers.Dense(2)(x))

def halved_mse(y_true, y_pred):
    return keras.ops.mean(keras.ops.square(y_true - y_pred)) / 2

model.compile(optimizer="sgd", loss=halved_mse)
"""

# 25M float32 kernel weights (100 MB) and one BN layer of 5,000 channels.
BIG = """
inp = keras.Input((5000,))
x = layers.Dense(5000, use_bias=False)(inp)
x = layers.BatchNormalization(name="bn")(x)
model = keras.Model(inp, layers.Dense(2)(x))
"""

RECIPES: dict[str, Recipe] = {
    "i3-known": Recipe(KNOWN),
    "i3-renorm-nan": Recipe(RENORM_NAN),
    "i3-partial-affine": Recipe(PARTIAL_AFFINE),
    "i3-marker-lambda": Recipe(MARKER_LAMBDA),
    "i3-marker-lambda-fixable": Recipe(MARKER_LAMBDA_FIXABLE, formats=("h5",), generations=("keras2",)),
    "i3-custom-objects": Recipe(CUSTOM_OBJECTS, formats=("keras",), generations=("keras3",)),
    "i3-big": Recipe(BIG, formats=("keras", "h5"), generations=("keras3",)),
    "i3-big-savedmodel": Recipe(BIG, formats=("savedmodel",), generations=("keras2",)),
    "convnexttiny": Recipe(
        "model = keras.applications.ConvNeXtTiny(weights=None, include_top=False, input_shape=(32, 32, 3))",
        formats=("keras", "h5"),
    ),
    "xception": Recipe(
        "model = keras.applications.Xception(weights=None, include_top=False, input_shape=(71, 71, 3))",
        formats=("keras", "h5"),
    ),
    # Rule examples of kind "legacy": built by tf_keras, relabelled as legacy by tests/test_legacy.py.
    **{
        f"{rule.code}-{index}": Recipe(example.code, formats=("h5",), generations=("keras2",))
        for rule in RULES.values()
        for index, example in enumerate(rule.examples)
        if example.kind == "legacy"
    },
}
