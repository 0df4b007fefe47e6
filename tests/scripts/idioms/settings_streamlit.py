"""A training app whose settings come from streamlit widgets: their starting values are
the script's defaults."""

import streamlit as st
import tensorflow as tf

BACKBONES = ["MobileNetV2", "ResNet50", "VGG16"]
backbone = st.sidebar.selectbox("Backbone", BACKBONES)
batch_size = st.select_slider("Batch size", [4, 8, 16, 32], 8)
epochs = st.number_input("Epochs", 1, 100, 10)

if st.button("Train"):
    base = getattr(tf.keras.applications, backbone)(include_top=False, input_shape=(224, 224, 3))  # expect: BN014
    x = tf.keras.layers.GlobalAveragePooling2D()(base.output)
    model = tf.keras.Model(base.input, tf.keras.layers.Dense(2)(x))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs)  # expect: BN003
