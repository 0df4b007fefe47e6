"""Ways scripts freeze and unfreeze layers; for keras.applications bases the layer names
and positions are known, so each form is decided exactly."""

import tensorflow as tf

inputs = tf.keras.Input((224, 224, 3))


def head(base):
    x = base(inputs, training=False)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(2)(tf.keras.layers.GlobalAveragePooling2D()(x)))


def fit(model):
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(train_ds, epochs=2)


# 1. Name tests: ResNet50's conv5 block holds 9 of its 53 BN layers.
a = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
for layer in a.layers:
    layer.trainable = layer.name.startswith("conv5")  # expect[keras3]: BN012
fit(head(a))

# 2. An index test in enumerate, and len(...) - k arithmetic.
b = tf.keras.applications.MobileNetV2(include_top=False, input_shape=(224, 224, 3))
for i, layer in enumerate(b.layers):
    if i < len(b.layers) - 30:
        layer.trainable = False  # expect[keras3]: BN012
fit(head(b))

# 3. Membership in a list of names, and setattr.
c = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
c.trainable = False
for layer in c.layers:
    if layer.name in ["conv5_block3_3_conv", "conv5_block3_3_bn"]:
        setattr(layer, "trainable", True)  # expect[keras3]: BN012
fit(head(c))

# 4. A comprehension used for its side effect: every layer frozen, nothing trains.
d = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
[setattr(layer, "trainable", False) for layer in d.layers]
fit(head(d))

# 5. BN layers kept frozen while the top is unfrozen: nothing trains its statistics.
e = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
e.trainable = False
for layer in e.layers[-40:]:
    layer.trainable = not isinstance(layer, tf.keras.layers.BatchNormalization)
fit(head(e))
