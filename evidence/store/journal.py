"""The file store's multipart journal: where each part of an upload lies in its one data file.

Part n is appended to the data file right after part n-1; the journal is a file of
fixed-size records (part number, offset, size, random ETag), one per part written. A record
torn by a crash was never acknowledged and is dropped; completion checks the caller's part
list against the latest record of each part (``evidence.store.filesystem``).
"""

from __future__ import annotations

import secrets
import struct
from pathlib import Path
from typing import IO

from evidence.store.base import CHUNK_SIZE, StoreError, UploadedPart

_ETAG_BYTES = 16
# Journal record: part number, offset, size, ETag.
_RECORD = struct.Struct(f"<IQQ{_ETAG_BYTES}s")

# (part number, offset in the data file, size, ETag hex)
Record = tuple[int, int, int, str]


def new_etag() -> str:
    return secrets.token_hex(_ETAG_BYTES)


def read_journal(journal: IO[bytes]) -> list[Record]:
    """Whole records only: a record torn by a crash was never acknowledged."""
    journal.seek(0)
    raw = journal.read()
    whole = len(raw) - len(raw) % _RECORD.size
    return [(n, offset, size, etag.hex()) for n, offset, size, etag in _RECORD.iter_unpack(raw[:whole])]


def append_record(journal: IO[bytes], records: list[Record], record: Record) -> None:
    """Write ``record`` after the whole ones read before (the caller holds the journal's lock)."""
    journal.seek(len(records) * _RECORD.size)
    journal.truncate()  # drop a torn record left by a crash
    number, offset, size, etag = record
    journal.write(_RECORD.pack(number, offset, size, bytes.fromhex(etag)))


def part_offset(records: list[Record], part_number: int) -> int:
    if part_number == 1:
        return 0
    for number, offset, size, _ in reversed(records):
        if number == part_number - 1:
            return offset + size
    raise StoreError(f"part {part_number - 1} must be uploaded before part {part_number} on the file store")


def write_at(out: IO[bytes], offset: int, data: bytes | bytearray | Path) -> int:
    out.seek(offset)
    if not isinstance(data, Path):
        out.write(data)
        return len(data)
    size = 0
    with data.open("rb") as src:
        while block := src.read(CHUNK_SIZE):
            out.write(block)
            size += len(block)
    return size


def check_parts(parts: list[UploadedPart], latest: dict[int, tuple[int, int, str]], *, min_part_size: int) -> int:
    """The parts, in order, must be the latest write of each and follow one another exactly."""
    if not parts or [p.part_number for p in parts] != list(range(1, len(parts) + 1)):
        raise StoreError("parts must be listed once each, numbered 1, 2, 3, … in order")
    total = 0
    for index, part in enumerate(parts):
        found = latest.get(part.part_number)
        if found is None or found[2] != part.etag:
            raise StoreError(f"part {part.part_number} was never uploaded or was replaced since")
        offset, size, _ = found
        if offset != total:
            raise StoreError(f"part {part.part_number} does not follow part {part.part_number - 1}")
        if index < len(parts) - 1 and size < min_part_size:
            raise StoreError(f"part {part.part_number} is smaller than {min_part_size} bytes")
        total += size
    return total
