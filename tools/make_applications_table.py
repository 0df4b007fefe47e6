"""Regenerate bnlint/scripts/applications.json: where the BN layers sit in every
keras.applications base (weights=None, nothing is downloaded).

Run with the dev environment, once per Keras upgrade:
    python tools/make_applications_table.py keras3 > /tmp/k3.json
    python tools/make_applications_table.py keras2 > /tmp/k2.json
    python tools/make_applications_table.py merge /tmp/k3.json /tmp/k2.json > bnlint/scripts/applications.json
    python tools/make_applications_table.py names > bnlint/scripts/application_names.json
Script linting reads the JSON as data and never imports Keras.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

NO_BN = ["VGG16", "VGG19", "ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"]
# Built only to read their layer lists; too many variants (and too big) to build them all.
COARSE = {"RegNet": 0.9, "ResNetRS": 0.0}
SHAPES = {
    "NASNetLarge": (331, 331, 3),
    "NASNetMobile": (224, 224, 3),
    "InceptionV3": (139, 139, 3),
    "InceptionResNetV2": (139, 139, 3),
    "Xception": (71, 71, 3),
}


def build(generation: str) -> dict:
    if generation == "keras3":
        import keras
        from keras import layers
    else:
        import tf_keras as keras
        from tf_keras import layers
    names = [n for n in dir(keras.applications) if n[0].isupper() and n not in NO_BN]
    names = [n for n in names if not any(n.startswith(prefix) for prefix in COARSE)]
    table = {}
    for name in names:
        ctor = getattr(keras.applications, name)
        shape = SHAPES.get(name, (96, 96, 3))
        if name.startswith("NASNet"):
            model = ctor(weights=None, include_top=False, input_shape=shape)
        else:
            model = ctor(weights=None, include_top=False, input_shape=shape)
        bn = [i for i, layer in enumerate(model.layers) if isinstance(layer, layers.BatchNormalization)]
        momenta = sorted({float(model.layers[i].momentum) for i in bn})
        count = len(model.layers)
        keras.backend.clear_session()
        top = ctor(weights=None, include_top=True, input_shape=None if not name.startswith("NASNet") else None)
        top_extra = len(top.layers) - count
        keras.backend.clear_session()
        table[name] = {"layers": count, "top_layers": top_extra, "bn": bn, "momentum": momenta}
        print(name, count, len(bn), momenta, file=sys.stderr)
    return table


def names() -> dict:
    """Layer names of every base (Keras 3; tf_keras names them the same), so that name
    tests such as `layer.name.startswith("conv5")` can be decided per layer."""
    import keras

    table = {}
    for name in [n for n in dir(keras.applications) if n[0].isupper() and n not in NO_BN]:
        if any(name.startswith(prefix) for prefix in COARSE):
            continue
        model = getattr(keras.applications, name)(
            weights=None, include_top=False, input_shape=SHAPES.get(name, (96, 96, 3))
        )
        table[name] = [layer.name for layer in model.layers]
        keras.backend.clear_session()
    return table


def merge(k3: dict, k2: dict) -> dict:
    out = {"no_bn": NO_BN, "coarse": COARSE, "keras3": {}, "keras2": {}, "shared": {}}
    for name in sorted(set(k3) | set(k2)):
        if k3.get(name) == k2.get(name):
            out["shared"][name] = k3[name]
        else:
            if name in k3:
                out["keras3"][name] = k3[name]
            if name in k2:
                out["keras2"][name] = k2[name]
    return out


if __name__ == "__main__":
    if sys.argv[1] == "merge":
        with open(sys.argv[2]) as a, open(sys.argv[3]) as b:
            print(json.dumps(merge(json.load(a), json.load(b)), separators=(",", ":")))
    elif sys.argv[1] == "names":
        print(json.dumps(names(), separators=(",", ":")))
    else:
        print(json.dumps(build(sys.argv[1])))
