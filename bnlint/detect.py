"""Which kind of input a path is, and which files a directory holds for bnlint."""

from __future__ import annotations

import os
from collections.abc import Iterator

from .errors import InputError

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
SOURCE_SUFFIXES = {".py": "script", ".ipynb": "notebook"}
SKIP_DIRS = {"node_modules", "site-packages", "__pycache__", "venv", "env"}


def kind_of(path: str) -> str:
    """'keras', 'h5', 'savedmodel', 'script' or 'notebook'; InputError otherwise."""
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "saved_model.pb")):
            return "savedmodel"
        raise InputError("no Keras model, script or notebook found in this directory")
    if not os.path.exists(path):
        raise InputError("no such file or directory")
    if not os.path.isfile(path):  # a FIFO or a device would block or never end
        raise InputError("not a regular file")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in SOURCE_SUFFIXES:
        return SOURCE_SUFFIXES[suffix]
    if os.path.basename(path) in ("saved_model.pb", "keras_metadata.pb"):
        return "savedmodel"
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})") from None
    if not head:
        raise InputError("empty file")
    if head.startswith(ZIP_MAGIC):
        return "keras"
    if head == HDF5_MAGIC or _hdf5_with_userblock(path):
        return "h5"
    if suffix in (".index", ".ckpt") or ".data-" in os.path.basename(path):
        raise InputError("TensorFlow checkpoint: weights only, no architecture is stored")
    raise InputError("not a Keras model (neither a .keras zip nor an HDF5 file)")


def _hdf5_with_userblock(path: str) -> bool:
    """HDF5 allows a user block: the signature may sit at 512, 1024, 2048, ..."""
    with open(path, "rb") as handle:
        offset = 512
        while True:
            handle.seek(offset)
            head = handle.read(8)
            if len(head) < 8:
                return False
            if head == HDF5_MAGIC:
                return True
            offset *= 2


def discover(paths: list[str]) -> Iterator[str]:
    """The inputs to lint: given files as they are, directories searched recursively.

    SavedModel directories count as one input; hidden folders and virtualenvs are
    skipped; a path that does not exist is passed on so that it gets its error line.
    """
    for path in paths:
        if not os.path.isdir(path) or os.path.exists(os.path.join(path, "saved_model.pb")):
            yield path
            continue
        found = list(_walk(path))
        if not found:
            yield path  # reported as "no model or script found"
        yield from found


def _walk(top: str) -> Iterator[str]:
    for entry in sorted(os.scandir(top), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False):
            if _skip_dir(entry):
                continue
            if os.path.exists(os.path.join(entry.path, "saved_model.pb")):
                yield entry.path
            else:
                yield from _walk(entry.path)
        elif entry.is_file(follow_symlinks=False):
            suffix = os.path.splitext(entry.name)[1].lower()
            if suffix in MODEL_SUFFIXES or suffix in SOURCE_SUFFIXES:
                if entry.name.endswith(".weights.h5"):
                    continue  # weights-only by Keras 3 convention: nothing to lint
                yield entry.path


def _skip_dir(entry: os.DirEntry) -> bool:
    name = entry.name
    return name.startswith(".") or name in SKIP_DIRS or os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))
