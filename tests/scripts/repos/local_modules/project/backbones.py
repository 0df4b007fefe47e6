import tensorflow as tf

BACKBONES = {"resnet50": tf.keras.applications.ResNet50, "mobilenet": tf.keras.applications.MobileNetV2}


def get_base(name, input_shape=(224, 224, 3)):
    base = BACKBONES[name](include_top=False, input_shape=input_shape)
    base.trainable = False
    return base
