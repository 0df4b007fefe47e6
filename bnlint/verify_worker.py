"""Load an original and a fixed model with real Keras and compare them. Run only as a
subprocess (`python -m bnlint.verify_worker keras3|keras2 < jobs.json`), one per Keras
generation: Keras 3 and tf_keras must not share an interpreter, and TensorFlow must
never enter the lint process.

Each job: {"original", "fixed", "checks": [...], "batch_size": int|null}. Each result:
{"max_abs_diff", "nan", "weights": {"changed", "missing", "added"}, "checks": [{"check",
"ok", "detail"}], "error"}. Checks:
- {"kind": "attribute", "layer", "name", "value"}: the loaded layer has that setting.
- {"kind": "frozen", "layers": [...]}: after one fit() step of the fixed model these BN
  layers' variables are bit-identical (and, as a control, whether the original's changed).
- {"kind": "protected", "layer"}: the base is called with training=False: after
  unfreezing it, one fit() step leaves its BN statistics unchanged (tf_keras); Keras 3
  only records the kwarg (fit() overrides it, keras#20285), which is what is checked.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from typing import Any

from .graph import path_segment, split_path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
MARK = "BNLINT-VERIFY:"
STATISTICS = ("moving_mean", "moving_variance")


def main(generation: str) -> None:
    global keras, np
    import numpy as np

    if generation == "keras3":
        import keras
    else:
        import tf_keras as keras
    jobs = json.load(sys.stdin)
    results = []
    for job in jobs:
        try:
            results.append(run(job, generation))
        except Exception as exc:  # noqa: BLE001 - reported per job, the others still run
            results.append({"error": one_line(exc), "trace": traceback.format_exc()})
        keras.backend.clear_session()
    sys.stdout.write(MARK + json.dumps(results) + "\n")


def one_line(exc: Exception, limit: int = 300) -> str:
    """Keras errors span lines and carry terminal colours: bnlint reports one clean line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(exc).__name__}: {exc}")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load(path: str):
    return keras.models.load_model(path, compile=False)


class Loaded:
    """Each model is loaded once for the read-only comparisons; a check that trains takes
    that instance the first time and a fresh load after (loading is the slow part)."""

    def __init__(self, job: dict[str, Any], original):
        self.paths = {"original": job["original"], "fixed": job["fixed"]}
        self.models = {"original": original, "fixed": load(job["fixed"])}

    def take(self, name: str):
        model = self.models.pop(name, None)
        return model if model is not None else load(self.paths[name])


def run(job: dict[str, Any], generation: str) -> dict[str, Any]:
    try:
        original = load(job["original"])
        inputs = batch(original, job.get("batch_size"), mean=0.0, scale=1.0)
        expected = predict(original, inputs)
    except Exception as exc:  # noqa: BLE001 - any failure here is the original's, not the fix's
        return {"error": one_line(exc), "original_fails": True}
    loaded = Loaded(job, original)
    fixed = loaded.models["fixed"]
    diff, nan, scale = 0.0, False, 0.0
    for a, b in zip(expected, predict(fixed, inputs), strict=True):
        scale = max(scale, float(np.max(np.abs(a)))) if a.size else scale
        nan |= bool(np.isnan(b).any() and not np.isnan(a).any())
        diff = max(diff, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0)
    before, after = variables(original), variables(fixed)
    weights = {
        "changed": sorted(k for k in before.keys() & after.keys() if not same(before[k], after[k])),
        "missing": sorted(before.keys() - after.keys()),
        "added": sorted(after.keys() - before.keys()),
    }
    specs = job.get("checks", [])
    # Read-only checks first: the checks that train may then reuse the loaded models.
    order = sorted(range(len(specs)), key=lambda i: specs[i]["kind"] != "attribute")
    done = {i: check(specs[i], job, generation, fixed, loaded) for i in order}
    checks = [done[i] for i in range(len(specs))]
    return {"max_abs_diff": diff, "scale": scale, "nan": nan, "weights": weights, "checks": checks, "error": None}


def batch(model, batch_size: int | None, mean: float, scale: float, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    arrays = []
    for tensor in model.inputs:
        shape = list(tensor.shape)
        size = shape[0] if isinstance(shape[0], int) else batch_size or 8
        dims = [size] + [d if isinstance(d, int) else 8 for d in shape[1:]]
        arrays.append((rng.normal(mean, scale, dims)).astype("float32"))
    return arrays


def predict(model, inputs: list) -> list:
    outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [np.asarray(keras.ops.convert_to_numpy(o) if hasattr(keras, "ops") else o) for o in outputs]


def sublayers(layer) -> list:
    found = list(getattr(layer, "layers", None) or [])
    inner = [getattr(layer, key, None) for key in ("layer", "forward_layer", "backward_layer")]
    return found + [i for i in inner if i is not None and i not in found]


def short(variable) -> str:
    return variable.name.split("/")[-1].split(":")[0]


def variables(model) -> dict[str, Any]:
    """'path:variable' -> array, for every leaf layer (order-independent, unlike model.weights)."""
    found: dict[str, Any] = {}

    def walk(layer, path: str) -> None:
        children = sublayers(layer)
        if not children:
            for variable in layer.weights:
                found[f"{path}:{short(variable)}"] = np.array(variable.numpy())
        for child in children:
            walk(child, f"{path}/{path_segment(child.name)}")

    walk(model, path_segment(model.name))
    return found


def same(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def find(model, path: str):
    parts = split_path(path)
    layer = model
    for name in parts[1:]:
        match = [child for child in sublayers(layer) if child.name == name]
        if not match:
            raise KeyError(f"no layer {path}")
        layer = match[0]
    return layer


def fit_once(model, batch_size: int | None) -> None:
    """One optimizer step on data far from the BN statistics (mean 5, sd 3), run eagerly:
    tracing or XLA-compiling a ResNet for a single step costs far more than the step."""
    inputs = batch(model, batch_size, mean=5.0, scale=3.0, seed=1)
    outputs = predict(model, inputs)
    targets = [np.random.default_rng(2).normal(size=o.shape).astype("float32") for o in outputs]
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", run_eagerly=True)
    x = inputs if len(inputs) > 1 else inputs[0]
    y = targets if len(targets) > 1 else targets[0]
    model.fit(x, y, batch_size=len(inputs[0]), epochs=1, verbose=0)


def changed_after_fit(model, layers: list[str], batch_size: int | None, unfreeze: str | None = None) -> list[str]:
    """Which of `layers` had a variable change after one fit step. With `unfreeze`, that
    base is unfrozen first (the fine-tuning step training=False protects against) and only
    the moving statistics count: gamma and beta then train by gradient, as they should."""
    if unfreeze is not None:
        find(model, unfreeze).trainable = True
    targets = {name: find(model, name) for name in layers}

    def watched(layer) -> list:
        return [v for v in layer.weights if unfreeze is None or short(v) in STATISTICS]

    before = {name: [np.array(v.numpy()) for v in watched(layer)] for name, layer in targets.items()}
    fit_once(model, batch_size)
    return [
        name
        for name, layer in targets.items()
        if not all(same(a, np.array(v.numpy())) for a, v in zip(before[name], watched(layer), strict=True))
    ]


def check(spec: dict[str, Any], job: dict[str, Any], generation: str, fixed, loaded: Loaded) -> dict[str, Any]:
    """One in-effect check; `fixed` is the loaded fixed model, read-only until checks train."""
    kind, size = spec["kind"], job.get("batch_size")
    if kind == "attribute":
        value = getattr(find(fixed, spec["layer"]), spec["name"], None)
        wanted = spec["value"]
        ok = value == wanted or (isinstance(wanted, float) and isinstance(value, float) and abs(value - wanted) < 1e-9)
        return {"check": spec, "ok": bool(ok), "detail": f"{spec['layer']}.{spec['name']} = {value!r}"}
    if kind == "frozen":
        moved = changed_after_fit(loaded.take("fixed"), spec["layers"], size)
        control = changed_after_fit(loaded.take("original"), spec["layers"], size)
        detail = f"{len(spec['layers'])} BN layers after one fit step: {len(moved)} changed (original: {len(control)})"
        return {"check": spec, "ok": not moved, "detail": detail, "original_changed": len(control)}
    if kind == "protected":
        base = spec["layer"]
        if generation == "keras3":
            recorded = recorded_training(fixed, base)
            detail = f"{base} calls record training={recorded}; Keras 3 fit() overrides it (keras#20285)"
            return {"check": spec, "ok": recorded == [False] * len(recorded) and bool(recorded), "detail": detail}
        bns = [f"{base}/{name}" for name in bn_paths(find(fixed, base))]
        moved = changed_after_fit(loaded.take("fixed"), bns, size, unfreeze=base)
        control = changed_after_fit(loaded.take("original"), bns, size, unfreeze=base)
        detail = (
            f"after unfreezing {base}, one fit step changed {len(moved)} of {len(bns)} BN layers "
            f"(original: {len(control)})"
        )
        return {"check": spec, "ok": not moved, "detail": detail, "original_changed": len(control)}
    return {"check": spec, "ok": False, "detail": f"unknown check {kind}"}


def bn_paths(layer, prefix: str = "") -> list[str]:
    paths = []
    for child in sublayers(layer):
        path = f"{prefix}{child.name}"
        if isinstance(child, keras.layers.BatchNormalization):
            paths.append(path)
        paths += bn_paths(child, path + "/")
    return paths


def recorded_training(model, base_path: str) -> list[Any]:
    """The `training` kwarg each call of the base records in its parent's config."""
    parent_path, _, name = base_path.rpartition("/")
    parent = find(model, parent_path) if "/" in parent_path else model
    entries = [e for e in parent.get_config()["layers"] if e.get("name", e.get("config", {}).get("name")) == name]
    values = []
    for node in entries[0].get("inbound_nodes", []) if entries else []:
        kwargs = node.get("kwargs", {}) if isinstance(node, dict) else (node[0][3] if len(node[0]) > 3 else {})
        values.append(kwargs.get("training"))
    return values


if __name__ == "__main__":
    main(sys.argv[1])
