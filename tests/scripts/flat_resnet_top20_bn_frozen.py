"""Older fine-tuning code: the head is built on base.output, so no call can pass
training=False; the last 20 layers are unfrozen except the BN layers: correct."""

from tensorflow.keras.applications import ResNet50
from tensorflow.keras.layers import BatchNormalization, Dense, Dropout, GlobalAveragePooling2D
from tensorflow.keras.models import Model
from tensorflow.keras.optimizers import SGD
from tensorflow.keras.preprocessing.image import ImageDataGenerator

NUM_CLASSES = 5
train_gen = ImageDataGenerator(rescale=1.0 / 255, horizontal_flip=True).flow_from_directory(
    "flowers/train", target_size=(224, 224), batch_size=32
)

base = ResNet50(weights="imagenet", include_top=False, input_shape=(224, 224, 3))
for layer in base.layers:
    layer.trainable = False

x = base.output
x = GlobalAveragePooling2D()(x)
x = Dense(256, activation="relu")(x)
x = Dropout(0.5)(x)
predictions = Dense(NUM_CLASSES, activation="softmax")(x)
model = Model(inputs=base.input, outputs=predictions)

model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(train_gen, epochs=5)

for layer in model.layers[-20:]:
    if not isinstance(layer, BatchNormalization):
        layer.trainable = True

model.compile(optimizer=SGD(learning_rate=1e-4, momentum=0.9), loss="categorical_crossentropy")
model.fit(train_gen, epochs=10)
