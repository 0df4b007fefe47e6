"""Rewrite a zip archive with some members replaced and every other byte kept.

Unchanged members (local header and data) are copied verbatim in the kernel (copying.py), and
the central directory is the original one with only the moved offsets and the replaced
members' CRC and sizes patched. Nothing is decompressed or re-checksummed except the
replaced members, so rewriting a 100 MB `.keras` costs about one file copy, and an
archive rewritten with identical members is byte-identical to the original.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import InputError
from .copying import copy_range

LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"
EOCD, ZIP64_EOCD, ZIP64_LOCATOR = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
MAX32 = 0xFFFFFFFF
CHUNK = 1 << 20


@dataclass
class _Record:
    """One central-directory record, with the fields this module patches decoded."""

    raw: bytearray
    name: str
    offset: int
    method: int
    flags: int


def splice(src: BinaryIO, out: BinaryIO, replacements: dict[str, bytes | str]) -> None:
    """Write `src` to `out` with the named members' contents replaced: by bytes, or by
    the contents of a file (streamed, never held in memory; stored members only)."""
    size = os.fstat(src.fileno()).st_size
    cd_offset, cd_size, tail = _end_records(src, size)
    src.seek(cd_offset)
    records = _records(src.read(cd_size))
    missing = set(replacements) - {r.name for r in records}
    if missing:
        raise InputError(f"zip archive has no member {sorted(missing)[0]}")
    ordered = sorted(records, key=lambda r: r.offset)
    ends = [r.offset for r in ordered[1:]] + [cd_offset]
    new_offsets: dict[int, int] = {}
    sizes: dict[int, tuple[int, int, int]] = {}
    for record, end in zip(ordered, ends, strict=True):
        new_offsets[id(record)] = out.tell()
        if record.name in replacements:
            sizes[id(record)] = _write_member(src, out, record, replacements[record.name])
        else:
            copy_range(src, out, record.offset, end - record.offset)
    new_cd_offset = out.tell()
    for record in records:
        _patch_central(record, new_offsets[id(record)], sizes.get(id(record)))
        out.write(record.raw)
    out.write(_patch_tail(tail, new_cd_offset, new_cd_offset + cd_size))


def _end_records(src: BinaryIO, size: int) -> tuple[int, int, bytearray]:
    """(central directory offset, its size, the end records after it)."""
    window = min(size, 22 + 0xFFFF)
    src.seek(size - window)
    data = src.read(window)
    at = data.rfind(EOCD)
    if at < 0:
        raise InputError("not a valid zip archive (no end of central directory)")
    eocd_pos = size - window + at
    _, _, _, _, _, cd_size, cd_offset, _ = struct.unpack("<4s4H2LH", data[at : at + 22])
    tail_start = eocd_pos
    if cd_offset == MAX32 or cd_size == MAX32:
        src.seek(eocd_pos - 20)
        locator = src.read(20)
        if locator[:4] != ZIP64_LOCATOR:
            raise InputError("corrupt ZIP64 archive (no locator)")
        (zip64_pos,) = struct.unpack("<Q", locator[8:16])
        src.seek(zip64_pos)
        record = src.read(56)
        if record[:4] != ZIP64_EOCD:
            raise InputError("corrupt ZIP64 archive (no end record)")
        cd_size, cd_offset = struct.unpack("<QQ", record[40:56])
        tail_start = zip64_pos
    if cd_offset + cd_size != tail_start:
        raise InputError("unusual zip layout (data before the archive or between its records); cannot rewrite")
    src.seek(tail_start)
    return cd_offset, cd_size, bytearray(src.read(size - tail_start))


def _records(directory: bytes) -> list[_Record]:
    records, pos = [], 0
    while pos < len(directory):
        if directory[pos : pos + 4] != CENTRAL:
            raise InputError("corrupt zip central directory")
        fields = struct.unpack("<4s6H3L5H2L", directory[pos : pos + 46])
        flags, method, name_len, extra_len, comment_len, offset = (
            fields[3],
            fields[4],
            fields[10],
            fields[11],
            fields[12],
            fields[16],
        )
        end = pos + 46 + name_len + extra_len + comment_len
        raw = bytearray(directory[pos:end])
        name = raw[46 : 46 + name_len].decode("utf-8" if flags & 0x800 else "cp437")
        record = _Record(raw, name, offset, method, flags)
        if offset == MAX32:
            record.offset = _zip64_values(raw, 46 + name_len, extra_len, fields[8:10])[2]
        records.append(record)
        pos = end
    return records


def _zip64_values(raw: bytearray, extra_at: int, extra_len: int, sizes: tuple[int, int]) -> list[int]:
    """Decode the ZIP64 extra field: [usize, csize, offset], None-filled where not present."""
    values: list = [None, None, None]
    slots = _zip64_slots(raw, extra_at, extra_len, sizes, with_offset=True)
    for index, at in slots.items():
        (values[index],) = struct.unpack("<Q", raw[at : at + 8])
    return values


def _zip64_slots(
    raw: bytearray, extra_at: int, extra_len: int, sizes: tuple[int, int], with_offset: bool
) -> dict[int, int]:
    """Byte positions of the ZIP64 extra's values: index 0 usize, 1 csize, 2 offset.

    A value is present only when its 32-bit field holds 0xFFFFFFFF (APPNOTE 4.5.3).
    """
    pos, end = extra_at, extra_at + extra_len
    while pos + 4 <= end:
        tag, length = struct.unpack("<HH", raw[pos : pos + 4])
        if tag == 1:
            present = [sizes[1] == MAX32, sizes[0] == MAX32, with_offset]
            slots, at = {}, pos + 4
            for index, flag in enumerate(present):
                if flag and at + 8 <= pos + 4 + length:
                    slots[index] = at
                    at += 8
            return slots
        pos += 4 + length
    return {}


def _write_member(src: BinaryIO, out: BinaryIO, record: _Record, data: bytes | str) -> tuple[int, int, int]:
    """Write the member's original local header, patched for the new data; return (crc, csize, usize)."""
    if record.flags & 0x08:
        raise InputError(f"{record.name} is stored with a data descriptor; cannot rewrite this archive")
    src.seek(record.offset)
    header = bytearray(src.read(30))
    if header[:4] != LOCAL:
        raise InputError(f"{record.name}: corrupt local header in zip archive")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    header += src.read(name_len + extra_len)
    if isinstance(data, str):
        return _write_file_member(out, record, header, name_len, extra_len, data)
    if record.method == zipfile.ZIP_STORED:
        payload = data
    elif record.method == zipfile.ZIP_DEFLATED:
        packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        payload = packer.compress(data) + packer.flush()
    else:
        raise InputError(f"{record.name} uses compression method {record.method}; cannot rewrite")
    crc, csize, usize = zlib.crc32(data), len(payload), len(data)
    old_sizes = struct.unpack("<LL", header[18:26])
    _patch_sizes(header, 14, 30 + name_len, extra_len, old_sizes, crc, csize, usize, with_offset=False)
    out.write(header)
    out.write(payload)
    return crc, csize, usize


def _write_file_member(out: BinaryIO, record: _Record, header: bytearray, name_len, extra_len, path: str):
    if record.method != zipfile.ZIP_STORED:
        raise InputError(f"{record.name} is compressed; bnlint rewrites only stored members from files")
    crc, size = 0, os.path.getsize(path)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
        old_sizes = struct.unpack("<LL", header[18:26])
        _patch_sizes(header, 14, 30 + name_len, extra_len, old_sizes, crc, size, size, with_offset=False)
        out.write(header)
        copy_range(handle, out, 0, size)
    return crc, size, size


def _patch_sizes(raw, crc_at, extra_at, extra_len, old_sizes, crc, csize, usize, with_offset) -> None:
    struct.pack_into("<L", raw, crc_at, crc)
    slots = _zip64_slots(raw, extra_at, extra_len, old_sizes, with_offset)
    for index, value, field_at in ((1, csize, crc_at + 4), (0, usize, crc_at + 8)):
        if index in slots:
            struct.pack_into("<Q", raw, slots[index], value)
        elif value >= MAX32:
            raise InputError("the rewritten member needs ZIP64 sizes the archive has no room for")
        else:
            struct.pack_into("<L", raw, field_at, value)


def _patch_central(record: _Record, offset: int, sizes: tuple[int, int, int] | None) -> None:
    raw = record.raw
    name_len, extra_len = struct.unpack("<HH", raw[28:32])
    old_sizes = struct.unpack("<LL", raw[20:28])
    if sizes is not None:
        _patch_sizes(raw, 16, 46 + name_len, extra_len, old_sizes, *sizes, with_offset=True)
        old_sizes = struct.unpack("<LL", raw[20:28])
    (stored,) = struct.unpack("<L", raw[42:46])
    if stored == MAX32:
        slots = _zip64_slots(raw, 46 + name_len, extra_len, old_sizes, with_offset=True)
        struct.pack_into("<Q", raw, slots[2], offset)
    elif offset >= MAX32:
        raise InputError("the rewritten archive needs ZIP64 offsets the original has no room for")
    else:
        struct.pack_into("<L", raw, 42, offset)


def _patch_tail(tail: bytearray, cd_offset: int, cd_end: int) -> bytearray:
    """Point the end records (and the ZIP64 ones) at the moved central directory."""
    if tail[:4] == ZIP64_EOCD:
        struct.pack_into("<Q", tail, 48, cd_offset)
        (record_size,) = struct.unpack("<Q", tail[4:12])
        locator = 12 + record_size
        struct.pack_into("<Q", tail, locator + 8, cd_end)
        eocd = locator + 20
    else:
        eocd = 0
    (stored,) = struct.unpack("<L", tail[eocd + 16 : eocd + 20])
    if stored != MAX32:
        if cd_offset >= MAX32:
            raise InputError("the rewritten archive needs ZIP64 offsets the original has no room for")
        struct.pack_into("<L", tail, eocd + 16, cd_offset)
    return tail
