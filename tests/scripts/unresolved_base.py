"""The base comes from the project's own module: bnlint cannot see inside it and must
say nothing rather than guess."""

import keras
from keras import layers
from project.backbones import build_backbone
from project.data import train_ds

base = build_backbone("resnet50", pretrained=True)
base.trainable = True
inputs = keras.Input((224, 224, 3))
x = layers.GlobalAveragePooling2D()(base(inputs))
model = keras.Model(inputs, layers.Dense(10)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=10, batch_size=2)
