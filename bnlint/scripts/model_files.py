"""A model file a script loads (`keras.models.load_model("pretrained.h5")`), read with
bnlint's own model readers (as data: nothing in it runs) to learn what its BN layers are.
"""

from __future__ import annotations

import os

from ..errors import InputError
from .applications import AppInfo
from .settings_files import repository_root, upwards

MODEL_KINDS = ("keras", "h5", "savedmodel")


def find(path: str, script: str) -> str | None:
    """The file `path` names, beside the script or in a folder above it in its repository."""
    here = os.path.dirname(os.path.abspath(script))
    root = repository_root(script)
    for candidate in [path] if os.path.isabs(path) else upwards(here, root, path):
        if os.path.exists(candidate) and os.path.commonpath([root, os.path.abspath(candidate)]) == root:
            return candidate
    return None


def describe(path: str, script: str, label: str) -> tuple[AppInfo | None, str | None]:
    """(what bnlint knows of the BN layers of the model at `path`, or None; a note on why not)."""
    found = find(path, script)
    if found is None:
        return None, f"{label}: the file is not in the repository, so its BN layers are unknown"
    from ..detect import kind_of
    from ..readers import read_model

    try:
        kind = kind_of(found)
        if kind not in MODEL_KINDS:
            return None, f"{label}: not a model file"
        with read_model(found, kind) as graph:
            return _info(graph, label), None
    except InputError as exc:
        return None, f"{label}: {exc}; its BN layers are unknown"
    except Exception as exc:  # noqa: BLE001 - an unreadable model is a note, never a crash
        return None, f"{label}: could not be read ({type(exc).__name__}); its BN layers are unknown"


def _info(graph, label: str) -> AppInfo:
    root = graph.root
    # `model.layers` as Keras lists it: a Functional model includes its InputLayers, a Sequential does not.
    layers = [c for c in root.children if not (root.is_sequential and c.class_name == "InputLayer")]
    bns = graph.bn_layers()
    momentum = tuple(sorted({float(bn.config.get("momentum", 0.99)) for bn in bns}, reverse=True))
    top = [i for i, layer in enumerate(layers) if layer.is_bn]
    exact = len(top) == len(bns)  # every BN layer is a direct layer: positions known
    return AppInfo(label, len(layers) if exact else None, 0, tuple(top) if exact else (), momentum, bool(bns))
