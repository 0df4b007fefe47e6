# Dense blocks: every block's output feeds every later concatenation (DenseNet, DIU-Net).
# The paths through such a graph double with each block; bnlint must not follow each path.
from tensorflow import keras


def block(x, filters):
    a = keras.layers.Conv2D(filters, 1, padding="same")(x)  # expect: BN008
    a = keras.layers.BatchNormalization()(a)
    b = keras.layers.Conv2D(filters, 3, padding="same")(x)  # expect: BN008
    b = keras.layers.BatchNormalization()(b)
    return keras.layers.Add()([keras.layers.Concatenate()([a, b]), x])


def dense(x, filters):
    x1 = block(x, filters)
    x2 = block(keras.layers.Conv2D(filters, 1)(x1), filters)
    x3 = block(keras.layers.Conv2D(filters, 1)(keras.layers.Concatenate()([x1, x2])), filters)
    x4 = block(keras.layers.Conv2D(filters, 1)(keras.layers.Concatenate()([x1, x2, x3])), filters)
    return keras.layers.Conv2D(filters, 1)(keras.layers.Concatenate()([x1, x2, x3, x4]))


inputs = keras.Input((64, 64, 1))
d1 = dense(inputs, 16)
d2 = dense(d1, 32)
d3 = dense(d2, 64)
d4 = dense(d3, 128)
u1 = dense(keras.layers.Concatenate()([d4, d3]), 64)
u2 = dense(keras.layers.Concatenate()([u1, d2]), 32)
u3 = dense(keras.layers.Concatenate()([u2, d1]), 16)
outputs = keras.layers.Conv2D(1, 1, activation="sigmoid")(u3)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(keras.utils.image_dataset_from_directory("data", batch_size=4), epochs=5)  # expect: BN003
