"""Build and save test models with real Keras. Runs in its own process, one per
Keras generation, so that Keras 3 and tf_keras never share an interpreter.

Usage: python keras_factory.py {keras3|keras2} JOBS.json
JOBS.json: [{"code": str, "formats": [...], "out": dir}, ...]. Each job's code
defines `model`; the model is saved in each format under `out/` and Keras's own view
of its BN layers is written to `out/truth.json`. A job that fails writes
`out/error.txt` instead, so one bad recipe cannot hide the others.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

GENERATION = sys.argv[1]
if GENERATION == "keras3":
    import keras
    from keras import layers
else:
    import tf_keras as keras
    from tf_keras import layers
import numpy as np  # noqa: E402

from bnlint.graph import path_segment  # noqa: E402


def make_base(name="base", momentum=0.99, input_shape=(8, 8, 3)):
    """A small stand-in for a pretrained CNN: Conv/BN/ReLU twice, with moving statistics
    that are not the initial 0/1 (what pretraining leaves)."""
    inp = keras.Input(input_shape)
    x = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv1")(inp)
    x = layers.BatchNormalization(momentum=momentum, name="bn1")(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv2")(x)
    x = layers.BatchNormalization(momentum=momentum, name="bn2")(x)
    return pretend_pretrained(keras.Model(inp, layers.ReLU()(x), name=name))


def pretend_pretrained(model):
    """Give every BN layer moving statistics other than the initial 0/1, as pretraining would:
    bnlint judges a base whose statistics never moved as not pretrained."""
    for index, layer in enumerate(bn_layers(model)):
        channels = layer.moving_mean.shape[0]
        layer.moving_mean.assign(np.linspace(-0.5, 0.5, channels).astype("float32") + 0.01 * index)
        layer.moving_variance.assign(np.linspace(0.5, 2.0, channels).astype("float32"))
    return model


def bn_layers(model):
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            yield layer
        elif hasattr(layer, "layers"):
            yield from bn_layers(layer)


def keras_view(model) -> list[dict]:
    """Every BN layer as Keras itself reports it, with the same path scheme as bnlint."""
    rows = []

    def walk(layer, prefix, parent_trainable):
        path = f"{prefix}/{path_segment(layer.name)}" if prefix else path_segment(layer.name)
        trainable = parent_trainable and layer.trainable
        if isinstance(layer, layers.BatchNormalization):
            rows.append(
                {
                    "path": path,
                    "momentum": float(layer.momentum),
                    "epsilon": float(layer.epsilon),
                    "trainable": bool(layer.trainable),
                    "effective_trainable": trainable,
                    "variables": len(layer.weights),
                }
            )
        for child in getattr(layer, "layers", []) or []:
            walk(child, path, trainable)
        inner = getattr(layer, "layer", None)
        if inner is not None:
            walk(inner, path, trainable)

    walk(model, "", True)
    return rows


def save(model, fmt: str, out: str) -> None:
    if fmt == "keras":
        model.save(os.path.join(out, "model.keras"))
    elif fmt == "h5":
        model.save(os.path.join(out, "model.h5"))
    elif fmt == "savedmodel":
        model.save(os.path.join(out, "savedmodel"), save_format="tf")
    elif fmt == "weights":  # weights only: no architecture stored
        model.save_weights(os.path.join(out, "model.weights.h5"))
    elif fmt == "legacy-weights":  # tf_keras save_weights to a plain .h5: Keras 2's weights-only layout
        if GENERATION == "keras2":
            model.save_weights(os.path.join(out, "weights.h5"))
    elif fmt == "export":  # Keras 3 model.export(): traced graphs, no Keras config
        model.export(os.path.join(out, "exported"), verbose=False)
    else:
        raise ValueError(fmt)


def run(job: dict) -> None:
    # Build into a private folder and rename it into place, so that concurrent test
    # runs sharing the cache never see a half-written fixture.
    final = job["out"]
    out = f"{final}.tmp-{os.getpid()}"
    os.makedirs(out, exist_ok=True)
    try:
        _build(job, out)
    finally:
        try:
            os.rename(out, final)
        except OSError:  # another run finished it first
            import shutil

            shutil.rmtree(out, ignore_errors=True)


def _build(job: dict, out: str) -> None:
    namespace = {
        "keras": keras,
        "layers": layers,
        "np": np,
        "make_base": make_base,
        "pretend_pretrained": pretend_pretrained,
    }
    try:
        exec(compile(job["code"], job.get("name", "recipe"), "exec"), namespace)
        model = namespace["model"]
        for fmt in job["formats"]:
            if (fmt == "savedmodel" and GENERATION == "keras3") or (fmt == "export" and GENERATION == "keras2"):
                continue  # Keras 3 writes no Keras SavedModel; tf_keras has no export()
            save(model, fmt, out)
        with open(os.path.join(out, "truth.json"), "w") as handle:
            json.dump({"keras_version": keras.__version__, "bn_layers": keras_view(model)}, handle)
    except Exception:  # noqa: BLE001 - recorded per recipe, reported by the test that needs it
        with open(os.path.join(out, "error.txt"), "w") as handle:
            handle.write(traceback.format_exc())


if __name__ == "__main__":
    with open(sys.argv[2]) as handle:
        for job in json.load(handle):
            run(job)
            keras.backend.clear_session()
