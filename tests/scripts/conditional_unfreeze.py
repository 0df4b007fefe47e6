"""Whether the base is unfrozen depends on a command-line flag: bnlint does not know
which branch runs and stays silent about the fine-tuning phase."""

import sys

import keras
from keras import layers

train_ds = keras.utils.image_dataset_from_directory("data", image_size=(224, 224))
base = keras.applications.MobileNet(include_top=False, input_shape=(224, 224, 3))
base.trainable = False
inputs = keras.Input((224, 224, 3))
x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
model = keras.Model(inputs, layers.Dense(3)(x))
if "--finetune" in sys.argv:
    base.trainable = True
model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=5)
