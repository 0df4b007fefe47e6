"""A frozen EfficientNetB0 inside a Sequential model: fine while frozen, but a Sequential
model can never pass training=False to it (latent: BN001)."""

import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

train_ds = keras.utils.image_dataset_from_directory("xray/train", image_size=(224, 224), batch_size=32)
val_ds = keras.utils.image_dataset_from_directory("xray/val", image_size=(224, 224), batch_size=32)

backbone = keras.applications.EfficientNetB0(include_top=False, weights="imagenet", input_shape=(224, 224, 3))
backbone.trainable = False

model = keras.Sequential(  # expect: BN001
    [
        keras.Input(shape=(224, 224, 3)),
        backbone,
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.3),
        layers.Dense(2, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train_ds, validation_data=val_ds, epochs=15, callbacks=[tf.keras.callbacks.EarlyStopping(patience=3)])
model.save("xray.keras")
