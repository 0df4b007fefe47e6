# Defines the step; controller.py calls it without importing it (both are pasted into one
# session), so the training it does is controller.py's.
from keras.applications import *
from keras.layers import *
from keras.models import *


def fine_tune(layer_num):
    base_model = InceptionV3(weights="imagenet", include_top=False)
    x = GlobalAveragePooling2D()(base_model.output)
    model = Model(inputs=base_model.input, outputs=Dense(3, activation="softmax")(x))
    for layer in model.layers[:layer_num]:
        layer.trainable = False
    model.compile(optimizer="adadelta", loss="categorical_crossentropy")
    model.fit(images, labels, batch_size=32, epochs=10)
    return model
