"""Keras' transfer-learning recipe, step for step, but without freezing the BN layers
before fine-tuning. Fine on tf_keras; on Keras 3 fit() ignores training=False."""

import keras
from keras import layers

train_ds = keras.utils.image_dataset_from_directory("data/train", image_size=(150, 150), batch_size=8)

base = keras.applications.Xception(weights="imagenet", input_shape=(150, 150, 3), include_top=False)
base.trainable = False

inputs = keras.Input(shape=(150, 150, 3))
x = base(inputs, training=False)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(1)(x)
model = keras.Model(inputs, outputs)

model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.BinaryCrossentropy(from_logits=True))
model.fit(train_ds, epochs=20)

# Fine-tuning: unfreeze the base, recompile with a low learning rate.
base.trainable = True
model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=keras.losses.BinaryCrossentropy(from_logits=True))
model.fit(train_ds, epochs=10)
