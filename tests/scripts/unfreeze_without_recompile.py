"""Fine-tuning that never happens: the base is unfrozen after compile() and fit() runs
again without a new compile()."""

import keras
from keras import layers

train_ds = keras.utils.image_dataset_from_directory("data/train", image_size=(224, 224))

base = keras.applications.DenseNet121(include_top=False, weights="imagenet", input_shape=(224, 224, 3))
base.trainable = False
inputs = keras.Input((224, 224, 3))
x = base(inputs, training=False)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, layers.Dense(4, activation="softmax")(x))
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
model.fit(train_ds, epochs=5)

base.trainable = True  # expect: BN004
for layer in base.layers:
    if isinstance(layer, layers.BatchNormalization):
        layer.trainable = False
model.fit(train_ds, epochs=5)
