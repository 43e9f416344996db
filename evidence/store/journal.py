"""The file store's multipart journal: where each part of an upload lies in its one data file.

Part n is appended to the data file right after part n-1; the journal is a file of
fixed-size records (part number, offset, size, random ETag), one per part written. A record
torn by a crash was never acknowledged and is dropped; completion checks the caller's part
list against the latest record of each part (``evidence.store.filesystem``).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import struct
from pathlib import Path
from typing import IO

from evidence.store.base import CHUNK_SIZE, PartData, StoreError, UploadedPart

_ETAG_BYTES = 16
# Journal record: part number, offset, size, ETag.
_RECORD = struct.Struct(f"<IQQ{_ETAG_BYTES}s")

_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024

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


def write_at(out: IO[bytes], offset: int, data: PartData) -> int:
    if isinstance(data, list):
        return _pwritev_all(out.fileno(), data, offset)
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


def _pwritev_all(fd: int, chunks: list[bytes], offset: int) -> int:
    """The chunks as received, in one system call per ``IOV_MAX`` of them (no joined copy)."""
    views = [memoryview(c) for c in chunks if c]
    written = 0
    while views:
        batch = views[:_IOV_MAX]
        done = os.pwritev(fd, batch, offset + written)
        if not done:
            raise OSError(f"pwritev wrote nothing at offset {offset + written}")
        written += done
        # A regular file takes everything unless the disk is full; resume after a short write.
        while done and views:
            if done >= len(views[0]):
                done -= len(views.pop(0))
            else:
                views[0] = views[0][done:]
                done = 0
    return written


class OpenPart:
    """A part being written while its bytes arrive: the data file and the journal held open
    (and locked) from the first byte to the record, which is written only once every byte is."""

    def __init__(self, data: IO[bytes], journal: IO[bytes], records: list[Record], part_number: int) -> None:
        self.data = data
        self.journal = journal
        self.records = records
        self.part_number = part_number
        self.offset = part_offset(records, part_number)
        self.written = 0

    @classmethod
    def open(cls, folder: Path, part_number: int) -> OpenPart:
        data = (folder / "data").open("r+b")
        journal = (folder / "parts").open("r+b")
        try:
            fcntl.flock(journal.fileno(), fcntl.LOCK_EX)  # one writer per upload, as in upload_part
            return cls(data, journal, read_journal(journal), part_number)
        except BaseException:
            data.close()
            journal.close()
            raise

    def write(self, batch: list[bytes], size: int) -> None:
        if self.written + sum(len(c) for c in batch) > size:
            raise StoreError(f"part {self.part_number} got more than its {size} bytes")
        self.written += _pwritev_all(self.data.fileno(), batch, self.offset + self.written)

    def record(self) -> str:
        """Make the part durable: its bytes first, then its record (a record that survives a
        crash always points at durable bytes), in the one thread call that wrote the rest."""
        os.fsync(self.data.fileno())
        etag = new_etag()
        append_record(self.journal, self.records, (self.part_number, self.offset, self.written, etag))
        self.journal.flush()
        os.fsync(self.journal.fileno())
        return etag

    def close(self) -> None:
        self.data.close()
        self.journal.close()  # releases the lock


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
