"""Reader for legacy `.h5` model files (Keras 1/2, tf.keras, tf_keras and Keras 3)."""

from __future__ import annotations

import json

from ..errors import InputError
from ..graph import ModelGraph, generation_of
from ..limits import current, load_json
from ..weights import BNWeights
from .h5_common import open_h5, optimizer_iterations_legacy, text_attr
from .keras_config import build_root
from .weights_h5 import LegacyH5Weights


def read(path: str) -> ModelGraph:
    with open_h5(path) as h5:
        attrs = h5.attrs
        raw_config = text_attr(attrs, "model_config")
        if raw_config is None:  # a weights-only file still says which Keras wrote it
            written_by = text_attr(attrs, "keras_version") or text_attr(
                _group_attrs(h5, "model_weights"), "keras_version"
            )
            raise InputError(_why_no_config(h5), keras_version=written_by)
        if len(raw_config) > current().member_bytes:
            raise InputError(
                f"model_config attribute is larger than {current().max_member_mib} MiB (limit max-member-mib)"
            )
        config = load_json(raw_config, "model_config attribute")
        keras_version = text_attr(attrs, "keras_version")
        training = text_attr(attrs, "training_config")
        iterations = optimizer_iterations_legacy(h5)
    try:  # optional: a broken training_config only means no training state is known
        training_config = json.loads(training) if training and len(training) <= current().member_bytes else None
    except (ValueError, RecursionError):
        training_config = None
    return ModelGraph(
        path=path,
        kind="h5",
        keras_version=keras_version,
        generation=generation_of(keras_version),
        root=build_root(config),
        training_config=training_config,
        optimizer_iterations=iterations,
        weights=BNWeights(LegacyH5Weights(path)),
    )


def _group_attrs(h5, name: str) -> dict:
    group = h5.get(name)
    return group.attrs if group is not None and hasattr(group, "attrs") else {}


def _why_no_config(h5) -> str:
    if "layer_names" in h5.attrs or "layer_names0" in h5.attrs:
        return "weights-only file (save_weights): no architecture is stored, nothing to lint"
    if "layers" in h5 and "vars" in h5:
        return "Keras 3 weights-only file (.weights.h5): no architecture is stored, nothing to lint"
    return "HDF5 file is not a Keras model (no model_config attribute)"
