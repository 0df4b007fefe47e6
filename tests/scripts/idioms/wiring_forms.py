"""Ways to wire a base: Sequential().add, Sequential with an Input and preprocessing
layers first, keyword Model(inputs=..., outputs=...), and a head on an intermediate layer
(only the BN layers up to it belong to the model)."""

import tensorflow as tf
from tensorflow.keras import layers

base = tf.keras.applications.MobileNetV2(include_top=False, input_shape=(160, 160, 3))
base.trainable = False
model = tf.keras.Sequential()
model.add(layers.Input((160, 160, 3)))
model.add(layers.Rescaling(1.0 / 127.5, offset=-1))
model.add(base)  # expect: BN001
model.add(layers.GlobalAveragePooling2D())
model.add(layers.Dense(2))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=3)

inception = tf.keras.applications.InceptionV3(include_top=False, input_shape=(299, 299, 3))
inception.trainable = False
x = layers.Flatten()(inception.get_layer("mixed7").output)  # expect: BN001
x = layers.Dense(1024, activation="relu")(x)
partial = tf.keras.Model(inputs=inception.input, outputs=layers.Dense(5)(x))
partial.compile("adam", "sparse_categorical_crossentropy")
partial.fit(train_ds, epochs=3)

guarded = tf.keras.applications.ResNet50V2(include_top=False, input_shape=(224, 224, 3))
guarded.trainable = False
inputs = tf.keras.Input((224, 224, 3))
y = guarded(inputs, training=False)
ok = tf.keras.Model(inputs=inputs, outputs=layers.Dense(2)(layers.GlobalAveragePooling2D()(y)))
ok.compile("adam", "sparse_categorical_crossentropy")
ok.fit(train_ds, epochs=3)
