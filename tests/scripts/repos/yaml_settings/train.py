"""Settings read at run time from a YAML file of the repository (the loader the script names
does not matter: bnlint parses it as plain data)."""

import tensorflow as tf
import yaml

with open("configs/train.yaml") as handle:
    config = yaml.load(handle, Loader=yaml.FullLoader)

base = getattr(tf.keras.applications, config["model"]["backbone"])(include_top=False)
base.trainable = not config["model"]["freeze_base"]  # expect: BN014
x = tf.keras.layers.GlobalAveragePooling2D()(base.output)
model = tf.keras.Model(base.input, tf.keras.layers.Dense(2)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x_train, y_train, batch_size=config["train"]["batch_size"], epochs=config["train"]["epochs"])  # expect: BN003
