"""Settings read at run time from a JSON file of the repository: read as data, and the
path the file's values take is followed (the message says so)."""

import json
import os

import tensorflow as tf

with open(os.path.join(os.path.dirname(__file__), "configs", "train.json")) as handle:
    config = json.load(handle)

backbone = config["model"]["backbone"]
base = getattr(tf.keras.applications, backbone)(include_top=False, input_shape=(224, 224, 3))  # expect: BN014
if config["model"]["freeze_base"]:
    base.trainable = False
x = tf.keras.layers.GlobalAveragePooling2D()(base.output)
model = tf.keras.Model(base.input, tf.keras.layers.Dense(2)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x_train, y_train, batch_size=config["train"]["batch_size"], epochs=config["train"]["epochs"])  # expect: BN003
