"""Readers turn a model file into a ModelGraph; one module per storage format."""

from __future__ import annotations

import os

from ..graph import ModelGraph
from . import h5, keras_zip, savedmodel

_READERS = {"keras": keras_zip.read, "h5": h5.read, "savedmodel": savedmodel.read}


def read_model(path: str, kind: str) -> ModelGraph:
    if kind == "savedmodel" and not os.path.isdir(path):
        path = os.path.dirname(path) or "."
    return _READERS[kind](path)
