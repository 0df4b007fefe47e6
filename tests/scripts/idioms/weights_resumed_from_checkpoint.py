"""A run that resumes from its own checkpoint: the weights loaded before training were saved
by this script on an earlier run, so the statistics are its own, not pretrained ones."""

import os

import tensorflow as tf

checkpoint_dir = os.path.dirname("training/cp-{epoch:04d}.ckpt")
base = tf.keras.applications.ResNet50(weights=None, include_top=False, input_shape=(224, 224, 3))
x = tf.keras.layers.GlobalAveragePooling2D()(base.output)
model = tf.keras.Model(base.input, tf.keras.layers.Dense(3)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.load_weights(tf.train.latest_checkpoint(checkpoint_dir))
model.fit(train_ds, epochs=3)

second = tf.keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3))
y = tf.keras.layers.GlobalAveragePooling2D()(second.output)
other = tf.keras.Model(second.input, tf.keras.layers.Dense(3)(y))
other.compile("adam", "sparse_categorical_crossentropy")
try:
    other.load_weights("weights.h5")
    print("Resuming ...")
except OSError:
    print("No weights found, starting from scratch")
other.fit(train_ds, epochs=3)
