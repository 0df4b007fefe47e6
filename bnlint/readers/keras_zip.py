"""Reader for `.keras` zip archives (Keras 3 and tf_keras 2.13+)."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from typing import Any, BinaryIO

from ..errors import InputError
from ..graph import ModelGraph, generation_of
from ..limits import current, load_json, read_capped
from ..weights import BNWeights, Unavailable
from .keras_config import build_root
from .weights_h5 import KerasArchiveWeights

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"


# A .keras archive holds config.json, metadata.json, model.weights.h5 and a few assets: the
# central directory of a zip with millions of entries would fill memory before it is read.
MAX_MEMBERS = 10_000


def read(path: str) -> ModelGraph:
    _check_member_count(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise InputError(f"not a valid zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if CONFIG not in names:
            raise InputError("zip archive has no config.json: not a Keras model file")
        config = _json_member(archive, CONFIG)
        metadata = _json_member(archive, METADATA) if METADATA in names else {}
        keras_version = metadata.get("keras_version") if isinstance(metadata, dict) else None
        code = inspect_members(archive, infos)
    root = build_root(config)
    if WEIGHTS in names and _readable_weights(archive.getinfo(WEIGHTS)):
        weights = KerasArchiveWeights(path, root, WEIGHTS)
        iterations = weights.optimizer_iterations()  # opens the member once, for the BN reads too
    elif WEIGHTS in names:
        weights, iterations = Unavailable(f"{WEIGHTS} is compressed and larger than the limit max-member-mib"), None
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
        code_members=code,
    )


def _readable_weights(info: zipfile.ZipInfo) -> bool:
    """Keras stores members uncompressed, read in place; a compressed one is decompressed as
    h5py seeks, and is read only if its declared size (where zipfile stops) is in the limit."""
    return info.compress_type == zipfile.ZIP_STORED or info.file_size <= current().member_bytes


def _check_member_count(path: str) -> None:
    """The number of entries the end-of-central-directory record declares (zip64 too),
    checked before zipfile reads the directory into memory."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - (1 << 16) - 22))
        tail = handle.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            return  # not a zip: zipfile says so
        count = struct.unpack("<H", tail[at + 10 : at + 12])[0]
        locator = tail.rfind(b"PK\x06\x07", 0, at)
        if count == 0xFFFF and locator >= 0 and len(tail) >= locator + 20:
            offset = struct.unpack("<Q", tail[locator + 8 : locator + 16])[0]
            handle.seek(offset)
            record = handle.read(40)
            if len(record) == 40 and record[:4] == b"PK\x06\x06":
                count = struct.unpack("<Q", record[32:40])[0]
    if count > MAX_MEMBERS:
        raise InputError(f"zip archive declares {count:,} members; a Keras model file has a few")


def inspect_members(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> list[str]:
    """Members whose loading could run code or write outside the archive. Nothing is
    extracted: names are only looked at, and .npy/.npz headers read."""
    code: list[str] = []
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if name in seen:
            code.append(
                f"two archive members are named '{name}': tools that read the first and those that read "
                "the last see different files"
            )
        seen.add(name)
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name.split("/")[0]:
            code.append(
                f"archive member '{name}' names a path outside the archive: a tool that extracts it "
                "without sanitising names writes a file there (which can run code later)"
            )
        lower = name.lower()
        if lower.endswith((".pkl", ".pickle", ".joblib", ".dill")):
            code.append(f"archive member '{name}' is a pickle: unpickling it runs code")
        elif lower.endswith((".npy", ".npz")) and _numpy_objects(archive, info):
            code.append(
                f"archive member '{name}' holds object arrays, which numpy unpickles (allow_pickle=True): "
                "loading them runs code"
            )
    return code


def _numpy_objects(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether a .npy member, or any array of a .npz member, has an object dtype (pickles)."""
    try:
        with archive.open(info) as stream:
            if info.filename.lower().endswith(".npy"):
                return _npy_object(stream.read(4096))
            data = read_capped(stream, info.filename)
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            return any(
                _npy_object(inner.open(member).read(4096))
                for member in inner.infolist()[:MAX_MEMBERS]
                if member.filename.endswith(".npy")
            )
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        return False  # not a readable numpy file: numpy would refuse it too


def _npy_object(header: bytes) -> bool:
    """The .npy header's dtype is object ('|O', or a structured dtype with an 'O' field)."""
    if not header.startswith(b"\x93NUMPY"):
        return False
    text = header[10:].split(b"\n", 1)[0]
    return b"'O'" in text or b"|O" in text or b"'|O" in text


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
