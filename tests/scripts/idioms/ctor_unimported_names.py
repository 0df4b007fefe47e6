"""A notebook fragment copied into a file: `tf`, `keras` and `layers` are used without
imports and taken as the modules they conventionally are."""

base = tf.keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
base.trainable = False
inputs = keras.Input((224, 224, 3))
x = base(inputs)  # expect: BN001
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, layers.Dense(2)(x))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=3)
