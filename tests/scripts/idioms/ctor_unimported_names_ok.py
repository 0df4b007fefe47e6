"""The same fragment with the base guarded and never unfrozen: nothing to report on
Keras 2; on Keras 3 too, since its BN layers stay frozen."""

base = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
base.trainable = False
inputs = keras.Input((224, 224, 3))
x = base(inputs, training=False)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, layers.Dense(2)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=3)
