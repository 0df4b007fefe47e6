"""Layers of a pretrained base put straight into a new Sequential (`stack.extend(base.layers[1:-5])`):
its BN layers become the new model's own, so no call can pass training=False to them."""

import tensorflow as tf
from tensorflow.keras import layers as L

base = tf.keras.applications.MobileNet(weights="imagenet")
stack = [L.InputLayer((224, 224, 3)), L.Conv2D(3, 8, padding="same")]
stack.extend(base.layers[1:-5])
stack.append(L.Reshape((32, 32, 49)))
model = tf.keras.Sequential(stack)  # expect: BN001
for layer in model.layers[1:-1]:  # every layer taken from the base
    layer.trainable = False
model.compile("adam", "mse")
model.fit(x, y, batch_size=32)

# Left trainable, the spliced BN layers train.
second = tf.keras.applications.MobileNetV2(weights="imagenet")  # expect: BN014
parts = [L.InputLayer((224, 224, 3))]
parts.extend(second.layers[1:-2])
parts.append(L.GlobalAveragePooling2D())
classifier = tf.keras.Sequential(parts)
classifier.compile("adam", "mse")
classifier.fit(x, y, batch_size=32)
