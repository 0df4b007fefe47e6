for layer in base_model.layers[-30:]:
    layer.trainable = True  # expect: BN014
model.compile(optimizer=tf.keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy")
history = model.fit(x_train, y_train, batch_size=32, epochs=5)  # expect: BN002
