"""A minimal protobuf wire-format decoder: enough to read `keras_metadata.pb`
without TensorFlow or the protobuf runtime (and without executing anything)."""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import InputError

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise InputError("truncated or corrupt protobuf (varint)")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


varint = _varint  # public: the checkpoint index (tf_bundle) is varint-coded too


def fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) for each field of one message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = _varint(buf, pos)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            value, pos = buf[pos : pos + size], pos + size
        elif wire == LENGTH:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise InputError(f"corrupt protobuf (wire type {wire})")
        if pos > len(buf):
            raise InputError("truncated protobuf")
        yield number, wire, value
