"""Real Keras for tests/test_probe.py, in its own process per generation (Keras 3 and
tf_keras never share an interpreter; the test process never imports TensorFlow).

    python probe_keras.py {keras3|keras2} build OUT
        Models and data for the probe: `nested` (a functional base with a shortcut branch
        inside a functional model, trained a few steps on `train` data so its moving
        statistics describe that data), `sequential` (the same kind of base inside a
        Sequential), `lambda` (a model holding code), `broken` (`nested` with a NaN
        moving mean and a negative moving variance), `shared` (a BN layer called twice);
        `close.npy` / `far.npy`, and the
        same small images as PNG files in class folders and as `images.npy`.
    python probe_keras.py {keras3|keras2} check JOBS.json
        Per job {"model", "data"}: each BN layer's input mean and population variance on
        the data, computed with sub-models Keras builds itself (not bnlint's capture), its
        stored statistics, and a hash of every variable of the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ["KERAS_BACKEND"] = "tensorflow"

GENERATION = sys.argv[1]
if GENERATION == "keras3":
    import keras
    from keras import layers
else:
    import tf_keras as keras
    from tf_keras import layers
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

SIZE, CHANNELS = 8, 3
TRAIN_MEAN, TRAIN_SD = 2.0, 1.5
MOMENTUM = 0.8  # 48 training steps leave 0.8**48 = 2e-5 of the initial statistics
SAMPLES = 256  # in close.npy and far.npy


def make_base():
    """Conv/BN twice, and a shortcut Conv/BN beside them (two BN layers that do not feed
    each other: recalibration measures them in one pass)."""
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    x = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv1")(inp)
    x = layers.BatchNormalization(momentum=MOMENTUM, name="bn1")(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv2")(x)
    x = layers.BatchNormalization(momentum=MOMENTUM, name="bn2")(x)
    shortcut = layers.BatchNormalization(momentum=MOMENTUM, name="bn_sc")(layers.Conv2D(4, 1, name="sc")(inp))
    return keras.Model(inp, layers.ReLU()(layers.Add()([x, shortcut])), name="base")


def head(x):
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.BatchNormalization(momentum=MOMENTUM, name="bn_top")(x)
    return layers.Dense(2, name="out")(x)


def data(seed: int, count: int, mean: float, sd: float) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, sd, (count, SIZE, SIZE, CHANNELS)).astype("float32")


def build(out: str) -> None:
    keras.utils.set_random_seed(0)
    os.makedirs(out, exist_ok=True)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    nested = keras.Model(inp, head(make_base()(inp)), name="nested")
    # A few steps at a tiny learning rate: the moving statistics (momentum 0.5) settle on
    # the training data while the kernels barely move.
    nested.compile(optimizer=keras.optimizers.SGD(1e-4), loss="mse")
    train = data(1, 512, TRAIN_MEAN, TRAIN_SD)
    nested.fit(train, np.zeros((len(train), 2), "float32"), batch_size=64, epochs=6, verbose=0)
    sequential = keras.Sequential([keras.Input((SIZE, SIZE, CHANNELS)), make_base()], name="sequential")
    sequential.add(layers.GlobalAveragePooling2D(name="pool"))
    sequential.add(layers.BatchNormalization(name="bn_top"))
    sequential(train[:2])
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    with_code = keras.Model(inp, layers.BatchNormalization()(layers.Lambda(lambda t: t * 2.0)(inp)), name="with_code")
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    shared_bn = layers.BatchNormalization(name="shared_bn")  # called twice: its second input depends on it
    twice = shared_bn(layers.Conv2D(3, 1, name="c2")(shared_bn(layers.Conv2D(3, 1, name="c1")(inp))))
    shared = keras.Model(inp, layers.BatchNormalization(name="last")(twice), name="shared")
    # BN on tabular features, first layer: its input is the data itself (known statistics).
    inp = keras.Input((6,))
    tabular = keras.Model(
        inp, layers.Dense(2, name="out")(layers.BatchNormalization(name="bn_tab")(inp)), name="tabular"
    )
    tabular.get_layer("bn_tab").moving_mean.assign(np.full(6, 0.5, "float32"))
    tabular.get_layer("bn_tab").moving_variance.assign(np.full(6, 2.0, "float32"))
    np.save(os.path.join(out, "tabular.npy"), np.random.default_rng(5).normal(1.0, 3.0, (SAMPLES, 6)).astype("float32"))
    models = [("nested", nested), ("sequential", sequential), ("lambda", with_code), ("shared", shared)]
    models.append(("tabular", tabular))
    for name, model in models:
        for suffix in ("keras", "h5"):
            model.save(os.path.join(out, f"{name}.{suffix}"))
    if GENERATION == "keras2":
        nested.save(os.path.join(out, "nested_savedmodel"), save_format="tf")
    # Broken statistics (BN006): a NaN mean and a negative variance; recalibration repairs them.
    broken = nested.get_layer("base").get_layer("bn2")
    broken.moving_mean.assign(np.array([np.nan, 0, 0, 0], "float32"))
    broken.moving_variance.assign(np.array([1, -1, 1, 1], "float32"))
    nested.save(os.path.join(out, "broken.keras"))
    np.save(os.path.join(out, "close.npy"), data(2, SAMPLES, TRAIN_MEAN, TRAIN_SD))
    np.save(os.path.join(out, "far.npy"), data(3, SAMPLES, TRAIN_MEAN + 4.0, TRAIN_SD * 3.0))
    pixels = np.random.default_rng(4).integers(0, 256, (6, SIZE, SIZE, CHANNELS), dtype=np.uint8)
    np.save(os.path.join(out, "images.npy"), pixels)
    for index, image in enumerate(pixels):
        folder = os.path.join(out, "images", f"class_{index % 2}")
        os.makedirs(folder, exist_ok=True)
        tf.io.write_file(os.path.join(folder, f"img_{index}.png"), tf.io.encode_png(image))
    with open(os.path.join(out, "built.json"), "w") as handle:
        json.dump({"keras_version": keras.__version__}, handle)


def sublayers(layer) -> list:
    return list(getattr(layer, "layers", None) or [])


def variables(model) -> dict[str, str]:
    """'path:variable' -> sha256 of its bytes, for every variable of every leaf layer."""
    found = {}

    def walk(layer, path: str) -> None:
        for child in sublayers(layer):
            walk(child, f"{path}/{child.name}")
        if not sublayers(layer):
            for variable in layer.weights:
                value = np.array(variable.numpy())
                name = variable.name.split("/")[-1].split(":")[0]
                found[f"{path}:{name}"] = hashlib.sha256(value.tobytes() + str(value.dtype).encode()).hexdigest()

    walk(model, model.name)
    return found


def bn_inputs(model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every BN layer's input on `x`, through sub-models of Keras' own graphs: the base's
    BN inputs from a model on the base's graph, the top BN's from the layers before it."""
    base = next(layer for layer in model.layers if sublayers(layer))
    names = ("bn1", "bn2", "bn_sc")
    inner = keras.Model(base.inputs, [base.get_layer(name).input for name in names])
    found = dict(zip([f"{model.name}/base/{n}" for n in names], inner(x, training=False), strict=True))
    found[f"{model.name}/bn_top"] = model.get_layer("pool")(base(x, training=False))
    return {path: np.asarray(value, dtype=np.float64) for path, value in found.items()}


def check(job: dict) -> dict:
    model = keras.models.load_model(job["model"], compile=False)
    x = np.load(job["data"]).astype("float32")
    layers_found = {}
    for path, value in bn_inputs(model, x).items():
        layer = (
            model.get_layer("base").get_layer(path.rsplit("/", 1)[1]) if "/base/" in path else model.get_layer("bn_top")
        )
        axes = tuple(range(value.ndim - 1))
        layers_found[path] = {
            "mean": value.mean(axis=axes).tolist(),
            "variance": value.var(axis=axes).tolist(),
            "moving_mean": np.asarray(layer.moving_mean.numpy(), np.float64).tolist(),
            "moving_variance": np.asarray(layer.moving_variance.numpy(), np.float64).tolist(),
            "epsilon": float(layer.epsilon),
        }
    return {"layers": layers_found, "variables": variables(model), "samples": len(x)}


if __name__ == "__main__":
    if sys.argv[2] == "build":
        build(sys.argv[3])
    else:
        with open(sys.argv[3]) as handle:
            jobs = json.load(handle)
        results = []
        for job in jobs:
            results.append(check(job))
            keras.backend.clear_session()
        print("PROBE-CHECK:" + json.dumps(results))
