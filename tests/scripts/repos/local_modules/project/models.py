import tensorflow as tf

from .backbones import get_base


def build(name="resnet50", num_classes=3):
    base = get_base(name)
    model = tf.keras.Sequential([base, tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(num_classes)])
    return model, base


def unfreeze_top(base, count):
    for layer in base.layers[-count:]:
        layer.trainable = True
