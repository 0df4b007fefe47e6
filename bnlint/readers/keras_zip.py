"""Reader for `.keras` zip archives (Keras 3 and tf_keras 2.13+)."""

from __future__ import annotations

import io
import struct
import zipfile
from typing import Any, BinaryIO

from ..errors import InputError
from ..graph import ModelGraph, generation_of
from ..limits import load_json, read_capped
from ..weights import BNWeights, Unavailable
from .keras_config import build_root
from .weights_h5 import KerasArchiveWeights

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"


def read(path: str) -> ModelGraph:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"not a valid zip archive ({exc})") from None
    with archive:
        names = set(archive.namelist())
        if CONFIG not in names:
            raise InputError("zip archive has no config.json: not a Keras model file")
        config = _json_member(archive, CONFIG)
        metadata = _json_member(archive, METADATA) if METADATA in names else {}
        keras_version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    root = build_root(config)
    if WEIGHTS in names:
        weights = KerasArchiveWeights(path, root, WEIGHTS)
        iterations = weights.optimizer_iterations()  # opens the member once, for the BN reads too
    else:
        weights, iterations = Unavailable(f"the archive has no {WEIGHTS}"), None
    return ModelGraph(
        path=path,
        kind="keras",
        keras_version=keras_version,
        generation=generation_of(keras_version),
        root=root,
        training_config=config.get("compile_config") if isinstance(config, dict) else None,
        optimizer_iterations=iterations,
        weights=BNWeights(weights),
    )


def _json_member(archive: zipfile.ZipFile, name: str) -> Any:
    """A JSON member, read as it decompresses and refused past the size limit (a zip bomb
    stops there, whatever its header says)."""
    try:
        with archive.open(name) as stream:
            data = read_capped(stream, name)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
        raise InputError(f"{name} cannot be read from the archive ({exc})") from None
    return load_json(data, name)


def open_member(path: str, archive: zipfile.ZipFile, name: str) -> BinaryIO:
    """A seekable view of one archive member that reads only the bytes asked for.

    Keras stores every member uncompressed, so h5py can read BN arrays straight from
    the archive without extracting a 100 MB weights file; compressed members fall back
    to zipfile's own (slower) stream.
    """
    info = archive.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        return archive.open(name)
    raw = open(path, "rb", buffering=0)
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raw.close()
        raise InputError(f"{name}: corrupt local header in zip archive")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    # HDF5 reads metadata in many small pieces (ResNet50's BN layers: ~900 reads); a
    # buffer turns them into ~100 system calls.
    return io.BufferedReader(_Window(raw, start, info.file_size), buffer_size=READ_BUFFER)


READ_BUFFER = 16 * 1024


class _Window(io.RawIOBase):
    """A read-only, seekable slice [start, start+size) of an unbuffered file."""

    def __init__(self, raw: io.FileIO, start: int, size: int):
        self._raw, self._start, self._size, self._pos = raw, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._pos))
        if count == 0:
            return 0
        self._raw.seek(self._start + self._pos)
        with memoryview(buffer) as view:
            read = self._raw.readinto(view.cast("B")[:count]) or 0
        self._pos += read
        return read

    def close(self) -> None:
        self._raw.close()
        super().close()
