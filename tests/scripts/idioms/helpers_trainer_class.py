"""A trainer class keeps the model and the base on self; build(), train() and fine_tune()
are called in sequence."""

import tensorflow as tf


class Trainer:
    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.base = None
        self.model = None

    def build(self):
        self.base = tf.keras.applications.EfficientNetB0(include_top=False, input_shape=(224, 224, 3))
        self.base.trainable = False
        inputs = tf.keras.Input((224, 224, 3))
        x = self.base(inputs)
        x = tf.keras.layers.GlobalAveragePooling2D()(x)
        self.model = tf.keras.Model(inputs, tf.keras.layers.Dense(self.num_classes)(x))

    def train(self, dataset):
        self.model.compile("adam", "sparse_categorical_crossentropy")
        self.model.fit(dataset, epochs=5)

    def fine_tune(self, dataset):
        self.base.trainable = True  # expect: BN014
        self.model.compile(tf.keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
        self.model.fit(dataset, epochs=5)


trainer = Trainer(10)
trainer.build()
trainer.train(train_ds)
trainer.fine_tune(train_ds)
