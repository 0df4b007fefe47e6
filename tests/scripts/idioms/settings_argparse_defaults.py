"""Branches on argparse options follow the script's defaults, and the message says so."""

import argparse

import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--backbone", default="resnet50", choices=["resnet50", "vgg16"])
parser.add_argument("--freeze", action="store_true")
parser.add_argument("--batch-size", type=int, default=8)
args = parser.parse_args()

if args.backbone == "resnet50":
    base = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))  # expect: BN014
else:
    base = tf.keras.applications.VGG16(include_top=False, input_shape=(224, 224, 3))
if args.freeze:
    base.trainable = False
x = tf.keras.layers.GlobalAveragePooling2D()(base.output)
model = tf.keras.Model(base.input, tf.keras.layers.Dense(3)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x_train, y_train, batch_size=args.batch_size, epochs=3)  # expect: BN003
