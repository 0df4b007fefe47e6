"""Writers: one per model format, beside the readers of the same format. Each opens a
model file as editable config documents and writes the fixed model back atomically."""

from __future__ import annotations

import os

from ..errors import InputError
from .model_file import ModelFile


def open_model(path: str, kind: str) -> ModelFile:
    if kind == "keras":
        from .keras_zip import KerasZipFile

        return KerasZipFile(path)
    if kind == "h5":
        from .h5 import H5File

        return H5File(path)
    if kind == "savedmodel":
        from .savedmodel import SavedModelDir

        return SavedModelDir(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    raise InputError(f"bnlint cannot rewrite {kind} files")


__all__ = ["ModelFile", "open_model"]
