"""TF Hub feature vector fine-tuned end to end: hub.KerasLayer(trainable=True) passes
training=True to the BN layers of MobileNetV2. A frozen hub layer runs them in inference
mode, but inside a Sequential nothing would keep them there once it is unfrozen (BN001)."""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tensorflow_hub needs tf_keras on TF >= 2.16

import tensorflow as tf
import tensorflow_hub as hub

HANDLE = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5"
train_ds = tf.keras.utils.image_dataset_from_directory("flowers", image_size=(224, 224), batch_size=32)

frozen = tf.keras.Sequential([hub.KerasLayer(HANDLE, trainable=False), tf.keras.layers.Dense(5)])  # expect: BN001
frozen.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
frozen.fit(train_ds, epochs=3)

feature_extractor = hub.KerasLayer(HANDLE, trainable=True)  # expect: BN014
model = tf.keras.Sequential([feature_extractor, tf.keras.layers.Dense(5)])
model.compile(optimizer=tf.keras.optimizers.SGD(0.005, momentum=0.9), loss="sparse_categorical_crossentropy")
model.fit(train_ds, epochs=5)
