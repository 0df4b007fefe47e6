"""Keras 2.2 spellings: submodule paths of keras.applications and keras.engine's Model."""

from keras.applications.mobilenetv2 import MobileNetV2
from keras.applications.xception import Xception
from keras.engine.training import Model
from keras.layers import Dense, GlobalAveragePooling2D

base = Xception(include_top=False, input_shape=(299, 299, 3))
for layer in base.layers:
    layer.trainable = False
x = GlobalAveragePooling2D()(base.output)  # expect: BN001
model = Model(inputs=base.input, outputs=Dense(5, activation="softmax")(x))
model.compile("adam", "categorical_crossentropy")
model.fit_generator(train_generator, epochs=5)

mobile = MobileNetV2(include_top=False, input_shape=(224, 224, 3))  # expect: BN014
y = GlobalAveragePooling2D()(mobile.output)
second = Model(mobile.input, Dense(5, activation="softmax")(y))
second.compile("adam", "categorical_crossentropy")
second.fit_generator(train_generator, epochs=5)
