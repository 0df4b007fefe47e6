"""Readers turn a model file into a ModelGraph; one module per storage format."""

from __future__ import annotations

import importlib
import os

from ..graph import ModelGraph

# Imported on use: a run over .keras files need not load the SavedModel parsers.
_READERS = {"keras": "keras_zip", "h5": "h5", "savedmodel": "savedmodel"}


def load_reader(kind: str) -> None:
    """Import the reader of a kind (and h5py with it) in this process: a forked reading
    process then starts with it loaded instead of importing it again for every file."""
    importlib.import_module(f"{__name__}.{_READERS[kind]}")
    importlib.import_module(f"{__name__}.weights_h5")


def read_model(path: str, kind: str) -> ModelGraph:
    if kind == "savedmodel" and not os.path.isdir(path):
        path = os.path.dirname(path) or "."
    return importlib.import_module(f"{__name__}.{_READERS[kind]}").read(path)
