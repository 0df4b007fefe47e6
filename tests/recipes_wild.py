"""Models shaped like those found in public repositories (tests/test_models_wild.py)."""

from __future__ import annotations

from recipes import Recipe

RECIPES = {
    # tf_keras names DenseNet's BN layers 'conv1/bn', and its last one 'bn': names that
    # contain '/' must neither collide with path joins nor take each other's weights.
    "nested-densenet": Recipe(
        "base = pretend_pretrained(keras.applications.DenseNet121(weights=None, include_top=False, "
        "input_shape=(32, 32, 3)))\ninp = keras.Input((32, 32, 3))\n"
        "model = keras.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling2D()(base(inp))))\n",
        formats=("keras", "h5"),
    ),
    # A subclassed model: Keras 3 saves it with an empty config (its layers are code).
    "subclassed": Recipe(
        "class Net(keras.Model):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.conv = layers.Conv2D(4, 3)\n"
        "        self.bn = layers.BatchNormalization()\n"
        "        self.head = layers.Dense(2)\n"
        "    def call(self, x):\n"
        "        return self.head(layers.GlobalAveragePooling2D()(self.bn(self.conv(x))))\n"
        "model = Net()\nmodel(np.zeros((1, 8, 8, 3), 'float32'))\n",
        formats=("keras",),
        generations=("keras3",),
    ),
    # Saved for inference (no compile): what Teachable Machine exports look like.
    "exported-unfrozen": Recipe(
        "base = make_base()\ninp = keras.Input((8, 8, 3))\n"
        "model = keras.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling2D()(base(inp))))\n",
        formats=("keras", "h5"),
    ),
    # The same, saved while set up for training.
    "compiled-unfrozen": Recipe(
        "base = make_base()\ninp = keras.Input((8, 8, 3))\n"
        "model = keras.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling2D()(base(inp))))\n"
        "model.compile('sgd', 'mse')\n",
        formats=("keras", "h5"),
    ),
    # A network trained from scratch for a few steps: its top-level BN statistics have barely
    # moved, and nothing about them is pretrained.
    "scratch-trained": Recipe(
        "inp = keras.Input((8, 8, 3))\nx = layers.Conv2D(4, 3, use_bias=False)(inp)\n"
        "x = layers.BatchNormalization()(x)\nx = layers.GlobalAveragePooling2D()(layers.ReLU()(x))\n"
        "model = keras.Model(inp, layers.Dense(2)(x))\nmodel.compile('sgd', 'mse')\n"
        "model.fit(np.random.rand(64, 8, 8, 3), np.random.rand(64, 2), batch_size=16, epochs=1, verbose=0)\n",
        formats=("keras", "h5"),
    ),
}
