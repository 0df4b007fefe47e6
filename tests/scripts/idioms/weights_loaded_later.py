"""weights=None followed by load_weights(...) of pretrained weights: pretrained from then on."""

import tensorflow as tf

base = tf.keras.applications.ResNet50(weights=None, include_top=False, input_shape=(224, 224, 3))  # expect: BN014
base.load_weights("resnet50_imagenet_notop.h5")
x = tf.keras.layers.GlobalAveragePooling2D()(base.output)
model = tf.keras.Model(base.input, tf.keras.layers.Dense(3)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=3)
