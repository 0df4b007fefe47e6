"""Regenerate the example models in this folder with real Keras 3 and tf_keras.

    pip install -e '.[tensorflow]' && python examples/make_examples.py

Each Keras generation runs in its own process (they cannot share one). The models
are tiny stand-ins for a fine-tuned CNN, each showing one BatchNormalization pitfall.
"""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def build(generation: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if generation == "keras3":
        import keras
        from keras import layers
    else:
        import tf_keras as keras
        from tf_keras import layers
    import numpy as np

    rng = np.random.default_rng(0)
    images = rng.normal(5, 3, (64, 32, 32, 3)).astype("float32")
    labels = rng.integers(0, 2, (64,))

    pretraining = rng.normal(0, 1, (64, 32, 32, 3)).astype("float32")  # another domain than `images`

    def pretrained_base():
        """A small CNN standing in for ResNet & co., BN with Keras' default momentum 0.99,
        pretrained for a few steps so that its moving statistics are real ones."""
        inp = keras.Input((32, 32, 3))
        x = inp
        for index, filters in enumerate((8, 16, 32), start=1):
            x = layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False, name=f"conv{index}")(x)
            x = layers.BatchNormalization(name=f"conv{index}_bn")(x)
            x = layers.ReLU(name=f"conv{index}_relu")(x)
        base = keras.Model(inp, x, name="pretrained_cnn")
        pretrain = keras.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling2D()(x)))
        pretrain.compile("sgd", "sparse_categorical_crossentropy")
        pretrain.fit(pretraining, labels, batch_size=16, epochs=1, verbose=0)
        return base

    def classifier(base, inp, features):
        x = layers.GlobalAveragePooling2D()(features)
        return keras.Model(inp, layers.Dense(2, activation="softmax", name="head")(x), name="classifier")

    def frozen_base_without_training_false():
        base = pretrained_base()
        base.trainable = False
        inp = keras.Input((32, 32, 3))
        return classifier(base, inp, base(inp))

    def finetune_with_training_false():
        base = pretrained_base()  # unfrozen for fine-tuning, as Keras' guide does in step 2
        inp = keras.Input((32, 32, 3))
        return classifier(base, inp, base(inp, training=False))

    def finetune_without_training_false():
        base = pretrained_base()
        inp = keras.Input((32, 32, 3))
        model = classifier(base, inp, base(inp))
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(images, labels, batch_size=16, epochs=1, verbose=0)  # 4 steps: the file records them
        return model

    def tiny_batch_head():
        inp = keras.Input((32, 32, 3), batch_size=2)
        x = layers.Conv2D(8, 3, name="conv")(inp)
        x = layers.BatchNormalization(name="bn")(x)
        x = layers.GlobalAveragePooling2D()(x)
        return keras.Model(inp, layers.Dense(2, name="head")(x), name="tiny_batch")

    def clean_transfer():
        base = pretrained_base()
        base.trainable = False
        for layer in base.layers:  # Keras 3: only the BN layers' own flag protects them
            if isinstance(layer, layers.BatchNormalization):
                layer.trainable = False
        inp = keras.Input((32, 32, 3))
        return classifier(base, inp, base(inp, training=False))

    out = os.path.join(HERE, generation)
    os.makedirs(out, exist_ok=True)
    for build_model in (
        frozen_base_without_training_false,
        finetune_with_training_false,
        finetune_without_training_false,
        tiny_batch_head,
        clean_transfer,
    ):
        model = build_model()
        if not getattr(model, "optimizer", None):  # saved as set up for training (an export for inference would lower
            model.compile("adam", "sparse_categorical_crossentropy")  # the fine-tuning findings to info)
        for suffix in (".keras", ".h5"):
            model.save(os.path.join(out, build_model.__name__ + suffix))
        keras.backend.clear_session()


if __name__ == "__main__":
    if len(sys.argv) == 2:
        build(sys.argv[1])
    else:
        for generation in ("keras3", "tf_keras"):
            subprocess.run([sys.executable, __file__, generation], check=True)
