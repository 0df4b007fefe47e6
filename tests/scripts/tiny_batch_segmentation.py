"""Fine-tuning a whole pretrained encoder with 4 images per batch (segmentation-style
memory limits): the pretrained BN layers train on tiny batches."""

import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

BATCH_SIZE = 4
IMAGE_SIZE = 512


def load_split(pattern):
    files = tf.data.Dataset.list_files(pattern)
    return files.map(lambda f: (tf.io.decode_png(tf.io.read_file(f)), 0))


train_ds = load_split("tiles/train/*.png").shuffle(256).batch(BATCH_SIZE).prefetch(2)

encoder = keras.applications.ResNet50V2(include_top=False, input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))  # expect: BN014
inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
features = encoder(inputs)
x = layers.Conv2DTranspose(64, 3, strides=32, padding="same")(features)
outputs = layers.Conv2D(2, 1, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
model.fit(train_ds, epochs=30)  # expect: BN003
