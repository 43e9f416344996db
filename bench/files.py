"""The bytes the upload cases send: a file the evidence service accepts as a video.

An MP4 ``ftyp`` box followed by one ``free`` box covering the rest: the type sniffs as
video/mp4, PyAV gives up after reading 64 KiB (no ``moov``), so the measured time is the
upload path, not media probing. Each repeat changes 16 bytes inside the ``free`` box, so
every upload is new content (content addressing would otherwise turn repeats into
duplicates that skip the store).
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from pathlib import Path

from bench.harness import MiB

_HEAD = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 0x200, b"isom", b"mp41")
NONCE_OFFSET = 40
BLOCK = 4 * MiB


def make_file(path: Path, size: int) -> Path:
    """Write ``size`` bytes (random after the two box headers) unless the file is already there."""
    if path.exists() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if size >= 1 << 32:
        raise ValueError("keep bench files under 4 GiB (32-bit box size)")
    with path.open("wb") as fh:
        fh.write(_HEAD + struct.pack(">I4s", size - len(_HEAD), b"free"))
        left = size - len(_HEAD) - 8
        while left > 0:
            n = min(BLOCK, left)
            fh.write(os.urandom(n))
            left -= n
    return path


def renew(path: Path) -> tuple[str, float]:
    """New content for the next repeat; returns (SHA-256 hex, seconds raw hashlib took)."""
    with path.open("r+b") as fh:
        fh.seek(NONCE_OFFSET)
        fh.write(os.urandom(16))
    return sha256_file(path)


def sha256_file(path: Path, block: int = MiB) -> tuple[str, float]:
    digest = hashlib.sha256()
    start = time.perf_counter()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest(), time.perf_counter() - start


def read_blocks(path: Path, block: int = MiB):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            yield chunk
