history = model.fit(x_train, y_train, batch_size=32, epochs=5)  # expect: BN001
