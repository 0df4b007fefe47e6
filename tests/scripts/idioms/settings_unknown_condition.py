"""A condition no default decides (an environment variable): a finding that holds on
every path is reported, one that holds on some is not."""

import os

import tensorflow as tf

base = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
if os.environ.get("FREEZE"):
    base.trainable = False
x = tf.keras.layers.GlobalAveragePooling2D()(base.output)
model = tf.keras.Model(base.input, tf.keras.layers.Dense(3)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=3)

scratch = tf.keras.Sequential(
    [tf.keras.Input((32,)), tf.keras.layers.Dense(16), tf.keras.layers.BatchNormalization()]  # expect: BN008
)
scratch.compile("adam", "mse")
batch = 4 if os.environ.get("SMALL") else 4
scratch.fit(x_small, y_small, batch_size=batch, epochs=3)  # expect: BN003
