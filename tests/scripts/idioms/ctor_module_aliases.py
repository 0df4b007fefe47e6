"""`from keras import applications` and `import tensorflow.keras.applications as apps`."""

import tensorflow as tf
import tensorflow.keras.applications as apps
from keras import applications, layers, models

base = applications.ResNet50(weights="imagenet", include_top=False, input_shape=(224, 224, 3))
base.trainable = False
model = models.Sequential()
model.add(base)  # expect: BN001
model.add(layers.GlobalAveragePooling2D())
model.add(layers.Dense(3, activation="softmax"))
model.compile("adam", "categorical_crossentropy")
model.fit(x_train, y_train, epochs=3)

backbone = apps.EfficientNetB0(include_top=False, input_shape=(224, 224, 3))  # expect: BN014
head = tf.keras.Sequential([backbone, tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(3)])
head.compile("adam", "mse")
head.fit(x_train, y_train, epochs=3)

vgg = apps.VGG16(include_top=False, input_shape=(224, 224, 3))
vgg.trainable = False
plain = tf.keras.Sequential([vgg, tf.keras.layers.Flatten(), tf.keras.layers.Dense(3)])
plain.compile("adam", "mse")
plain.fit(x_train, y_train, epochs=3)
