"""Read tensors from a TensorFlow checkpoint bundle (`variables/variables.index` and
`.data-*` shards) without TensorFlow: the index is a LevelDB-style table of
`BundleEntryProto`s, the shards hold raw little-endian tensor bytes at the offsets
the entries give. Only the tensors asked for are read.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ..errors import InputError
from ..limits import current, read_capped
from . import protowire
from .files import open_inside

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER = 5  # compression type byte + crc32c
DT_STRING = 7
# TensorFlow DataType enum -> numpy dtype (bfloat16 has no numpy type and is left out).
DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?", 17: "<u2", 19: "<f2"}


@dataclass(frozen=True)
class Entry:
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int


class Bundle:
    """The entries of one checkpoint; tensors are read on demand and shard files
    stay open until close()."""

    def __init__(self, prefix: str, root: str):
        self._prefix, self._root = prefix, root
        self._shards: dict[int, BinaryIO] = {}
        with open_inside(root, f"{prefix}.index") as handle:
            table = read_capped(handle, "variables.index")
        raw = _read_table(table)
        header = dict(_varints(raw.pop(b"", b"")))
        self._num_shards = header.get(1, 1)
        if header.get(2, 0) != 0:
            raise InputError("checkpoint is big-endian: not supported")
        self.entries = {key.decode("utf-8", "replace"): _entry(value) for key, value in raw.items()}

    def read(self, key: str) -> np.ndarray:
        entry = self.entries.get(key)
        if entry is None:
            raise KeyError(key)
        data = self._bytes(entry)
        if entry.dtype == DT_STRING:
            return np.array(_strings(data, int(np.prod(entry.shape, dtype=np.int64))), dtype=object)
        dtype = DTYPES.get(entry.dtype)
        if dtype is None:
            raise ValueError(f"unsupported tensor dtype (TF enum {entry.dtype})")
        array = np.frombuffer(data, dtype=dtype)
        if array.size != int(np.prod(entry.shape, dtype=np.int64)):
            raise ValueError(f"stored size {array.size} does not match shape {list(entry.shape)}")
        return array.reshape(entry.shape)

    def _bytes(self, entry: Entry) -> bytes:
        shard = self._shards.get(entry.shard)
        if shard is None:
            name = f"{self._prefix}.data-{entry.shard:05d}-of-{self._num_shards:05d}"
            if not os.path.exists(name):
                raise InputError(f"checkpoint shard {os.path.basename(name)} is missing")
            shard = self._shards[entry.shard] = open_inside(self._root, name)
        if entry.size > current().member_bytes:
            raise ValueError(f"a tensor of {entry.size:,} bytes is beyond the limit max-member-mib")
        shard.seek(entry.offset)
        data = shard.read(entry.size)
        if len(data) != entry.size:
            raise ValueError("checkpoint shard is truncated")
        return data

    def close(self) -> None:
        for handle in self._shards.values():
            handle.close()
        self._shards.clear()


def _read_table(data: bytes) -> dict[bytes, bytes]:
    """All key/value pairs of an SSTable (footer -> index block -> data blocks)."""
    if len(data) < FOOTER_SIZE or struct.unpack("<Q", data[-8:])[0] != TABLE_MAGIC:
        raise InputError("checkpoint index is not a TensorFlow table (bad magic)")
    footer = data[-FOOTER_SIZE:]
    _, pos = _handle(footer, 0)  # the metaindex block is always empty in bundles
    index_handle, _ = _handle(footer, pos)
    entries: dict[bytes, bytes] = {}
    for _, value in _block(data, index_handle):
        block_handle, _ = _handle(value, 0)
        entries.update(_block(data, block_handle))
    return entries


def _handle(buf: bytes, pos: int) -> tuple[tuple[int, int], int]:
    offset, pos = protowire.varint(buf, pos)
    size, pos = protowire.varint(buf, pos)
    return (offset, size), pos


def _block(data: bytes, handle: tuple[int, int]) -> list[tuple[bytes, bytes]]:
    offset, size = handle
    if offset + size + BLOCK_TRAILER > len(data) or size < 4:
        raise InputError("checkpoint index is truncated")
    if data[offset + size] != 0:
        raise InputError("checkpoint index uses block compression: not supported")
    block = data[offset : offset + size]
    restarts = struct.unpack("<I", block[-4:])[0]
    end = size - 4 - 4 * restarts
    items, key, pos = [], b"", 0
    while pos < end:
        shared, pos = protowire.varint(block, pos)
        unshared, pos = protowire.varint(block, pos)
        length, pos = protowire.varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        items.append((key, block[pos : pos + length]))
        pos += length
    return items


def _varints(message: bytes) -> list[tuple[int, int]]:
    return [(number, value) for number, wire, value in protowire.fields(message) if wire == protowire.VARINT]


def _entry(message: bytes) -> Entry:
    """BundleEntryProto {dtype=1; TensorShapeProto shape=2; shard_id=3; offset=4; size=5; crc32c=6}."""
    values = dict(_varints(message))
    shape: tuple[int, ...] = ()
    for number, wire, value in protowire.fields(message):
        if number == 2 and wire == protowire.LENGTH:
            shape = tuple(
                dict(_varints(dim)).get(1, 0)
                for n, w, dim in protowire.fields(value)
                if n == 2 and w == protowire.LENGTH
            )
    return Entry(values.get(1, 0), shape, values.get(3, 0), values.get(4, 0), values.get(5, 0))


def _strings(data: bytes, count: int) -> list[bytes]:
    """DT_STRING layout: varint64 lengths, a 4-byte checksum of them, then the bytes."""
    lengths, pos = [], 0
    for _ in range(count):
        length, pos = protowire.varint(data, pos)
        lengths.append(length)
    pos += 4
    out = []
    for length in lengths:
        out.append(data[pos : pos + length])
        pos += length
    return out
