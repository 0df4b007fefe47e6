"""A small tabular model with BN trained on 800 samples for 4 epochs: 100 steps, while
momentum 0.99 needs about 459 updates to forget its initial statistics."""

import keras
import numpy as np
from keras import layers

N_SAMPLES = 800
x = np.random.rand(N_SAMPLES, 32).astype("float32")
y = np.random.randint(0, 3, size=(N_SAMPLES,))
x_train, y_train = x[:640], y[:640]

model = keras.Sequential(
    [
        keras.Input((32,)),
        layers.Dense(128),  # expect: BN008
        layers.BatchNormalization(),  # expect: BN002
        layers.ReLU(),
        layers.Dense(64),  # expect: BN008
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
        layers.Dense(3, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=4, validation_split=0.1)
