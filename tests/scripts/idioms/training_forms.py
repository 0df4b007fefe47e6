"""Training forms: fit_generator on flow_from_directory, train_on_batch in a loop, batches
from image_dataset_from_directory and tf.data, and a GradientTape loop."""

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


def scratch():
    return tf.keras.Sequential(
        [
            tf.keras.Input((64, 64, 3)),
            tf.keras.layers.Conv2D(16, 3, use_bias=False),
            tf.keras.layers.BatchNormalization(),  # expect: BN002
            tf.keras.layers.ReLU(),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(2),
        ]
    )


flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data", target_size=(64, 64), batch_size=8)
a = scratch()
a.compile("adam", "categorical_crossentropy")
a.fit_generator(flow, epochs=3)  # expect: BN003

folders = tf.keras.utils.image_dataset_from_directory("data", image_size=(64, 64), batch_size=4)
b = scratch()
b.compile("adam", "sparse_categorical_crossentropy")
b.fit(folders, epochs=3)  # expect: BN003

pipeline = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(100).batch(2).prefetch(1)
c = scratch()
c.compile("adam", "sparse_categorical_crossentropy")
c.fit(pipeline, epochs=3)  # expect: BN003

d = scratch()
d.compile("adam", "sparse_categorical_crossentropy")
for step in range(100):
    images, labels = next(iter(folders))
    d.train_on_batch(images, labels)  # expect: BN003

base = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3), pooling="avg")  # expect: BN014
classifier = tf.keras.layers.Dense(2)
optimizer = tf.keras.optimizers.Adam()
for images, labels in tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(32):
    with tf.GradientTape() as tape:
        logits = classifier(base(images, training=True))
        loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
    variables = base.trainable_variables + classifier.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

frozen_loop = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3), pooling="avg")
for images, labels in tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(32):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(classifier(frozen_loop(images)))
