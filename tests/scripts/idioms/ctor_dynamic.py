"""Constructors picked at run time: getattr on the module, a dict of constructors picked
by a constant key, and an expression given to eval."""

import tensorflow as tf

BACKBONE = "MobileNetV2"
CONSTRUCTORS = {"resnet50": tf.keras.applications.ResNet50, "vgg16": tf.keras.applications.VGG16}


def head(base):
    inputs = tf.keras.Input((224, 224, 3))
    x = base(inputs)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(2)(x))


first = getattr(tf.keras.applications, BACKBONE)(include_top=False, input_shape=(224, 224, 3))  # expect: BN014
model = head(first)
model.compile("adam", "mse")
model.fit(train_ds, epochs=2)

second = CONSTRUCTORS["resnet50"](include_top=False, input_shape=(224, 224, 3))  # expect: BN014
model = head(second)
model.compile("adam", "mse")
model.fit(train_ds, epochs=2)

third = CONSTRUCTORS["vgg16"](include_top=False, input_shape=(224, 224, 3))
model = head(third)
model.compile("adam", "mse")
model.fit(train_ds, epochs=2)

fourth = eval(f"tf.keras.applications.{'DenseNet121'}(include_top=False, input_shape=(224, 224, 3))")  # expect: BN014
model = head(fourth)
model.compile("adam", "mse")
model.fit(train_ds, epochs=2)
