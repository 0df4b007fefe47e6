"""A constructor passed into a training function, called for several backbones: each
call is analysed (VGG16 has no BN layers and stays silent)."""

import tensorflow as tf


def train(base_fn, dataset):
    base = base_fn(include_top=False, input_shape=(224, 224, 3))
    base.trainable = False
    inputs = tf.keras.Input((224, 224, 3))
    x = base(inputs)  # expect: BN001
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(3)(tf.keras.layers.GlobalAveragePooling2D()(x)))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(dataset, epochs=3)


for constructor in [tf.keras.applications.VGG16, tf.keras.applications.ResNet50]:
    train(constructor, train_ds)
