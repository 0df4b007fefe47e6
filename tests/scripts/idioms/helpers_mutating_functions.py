"""Helper functions that change their arguments, called from main() under the
`if __name__ == "__main__"` guard; the model is built in one function, trained in another."""

import tensorflow as tf


def build(num_classes):
    base = tf.keras.applications.MobileNetV2(include_top=False, input_shape=(224, 224, 3))
    base.trainable = False
    inputs = tf.keras.Input((224, 224, 3))
    x = base(inputs, training=False)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(num_classes)(x)), base


def set_trainable(base, first_trainable):
    for layer in base.layers[first_trainable:]:
        layer.trainable = True  # expect[keras3]: BN012


def train(model, dataset, epochs):
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(dataset, epochs=epochs)


def main():
    model, base = build(5)
    train(model, train_ds, 5)
    set_trainable(base, 100)
    train(model, train_ds, 5)


if __name__ == "__main__":
    main()
