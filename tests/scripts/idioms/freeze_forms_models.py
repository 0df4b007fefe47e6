"""Freezing through the model that holds the base: model.layers[0] and get_layer by the
name Keras gives the base."""

import tensorflow as tf

first = tf.keras.Sequential(  # expect: BN001
    [tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3)), tf.keras.layers.Flatten()]
)
first.layers[0].trainable = False
first.compile("adam", "mse")
first.fit(train_ds, epochs=2)

base = tf.keras.applications.MobileNetV2(include_top=False, input_shape=(224, 224, 3))
second = tf.keras.Sequential([base, tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(3)])  # expect: BN001
second.get_layer("mobilenetv2_1.00_224").trainable = False
second.compile("adam", "mse")
second.fit(train_ds, epochs=2)
