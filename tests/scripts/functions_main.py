"""Model building and training in functions, run from a __main__ guard: followed where
they are called. The fine-tuning phase unfreezes the base without freezing its BN."""

import argparse

import tensorflow as tf

IMG_SHAPE = (224, 224, 3)


def build_model(num_classes, base_trainable=False):
    base = tf.keras.applications.EfficientNetB0(include_top=False, weights="imagenet", input_shape=IMG_SHAPE)
    base.trainable = base_trainable
    inputs = tf.keras.Input(IMG_SHAPE)
    x = base(inputs)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf.keras.layers.Dense(num_classes, activation="softmax")(x)
    return tf.keras.Model(inputs, outputs), base


def unfreeze(base, n_layers):
    for layer in base.layers[-n_layers:]:
        layer.trainable = True  # expect: BN014


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data")
    args = parser.parse_args()
    train_ds = tf.keras.utils.image_dataset_from_directory(args.data, image_size=IMG_SHAPE[:2])
    model, base = build_model(num_classes=7)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(train_ds, epochs=10)
    unfreeze(base, 40)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy")
    model.fit(train_ds, epochs=10)


if __name__ == "__main__":
    main()
