"""Defaults that freeze the base and guard it, and a batch of 32: nothing to report."""

import argparse

import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--no-freeze", dest="freeze", action="store_false")
parser.add_argument("--batch-size", type=int, default=32)
args = parser.parse_args()

base = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
if args.freeze:
    base.trainable = False
inputs = tf.keras.Input((224, 224, 3))
x = base(inputs, training=False)
x = tf.keras.layers.GlobalAveragePooling2D()(x)
model = tf.keras.Model(inputs, tf.keras.layers.Dense(3)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x_train, y_train, batch_size=args.batch_size, epochs=3)
