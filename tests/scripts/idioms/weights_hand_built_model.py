"""A network written by hand whose pretrained weights are loaded into it: its own BN
layers are the pretrained ones, and they train in the fit that follows."""

from tensorflow import keras
from tensorflow.keras import layers


def conv_bn(x, filters):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


inputs = keras.Input((64, 64, 3))
x = conv_bn(inputs, 32)
x = conv_bn(x, 64)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
model.load_weights("pretrained_on_imagenet64.h5", by_name=True)
model.compile("sgd", "categorical_crossentropy")
model.fit(x_train, y_train, batch_size=64, epochs=5)  # expect: BN014
