"""Star imports of keras.applications, keras.layers and keras.models."""

from tensorflow.keras.applications import *
from tensorflow.keras.layers import *
from tensorflow.keras.models import *

base = DenseNet121(include_top=False, input_shape=(224, 224, 3))
base.trainable = False
x = GlobalAveragePooling2D()(base.output)  # expect: BN001
model = Model(base.input, Dense(3, activation="softmax")(x))
model.compile("adam", "categorical_crossentropy")
model.fit(train_ds, epochs=3)
