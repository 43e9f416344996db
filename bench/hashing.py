"""Streaming SHA-256 as the upload paths compute it vs raw ``hashlib`` over the same bytes.

"Ours" runs the real code of the paths over the chunks a server receives (64 KiB, as
uvicorn hands them to ``request.stream()``): the direct path's ``limit_size`` +
``StreamDigest`` generator chain, and the tus path's resumable OpenSSL context
(``evidence.uploads.hashstate``). The baseline is ``hashlib.sha256`` over 1 MiB views.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from bench.context import Context
from bench.harness import MB, Row, Stat, ratio_stat
from evidence.hashing import StreamDigest, limit_size
from evidence.uploads import hashstate

NET_CHUNK = 64 * 1024


async def _chunks(data: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in data:
        yield chunk


async def _direct(data: list[bytes], total: int) -> tuple[str, float]:
    digest = StreamDigest()
    start = time.perf_counter()
    async for chunk in limit_size(_chunks(data), total):
        digest.update(chunk)
    return digest.hexdigest, time.perf_counter() - start


async def _tus(data: list[bytes]) -> tuple[str, float]:
    hasher = hashstate.new_sha256()
    start = time.perf_counter()
    async for chunk in _chunks(data):
        hasher.update(chunk)
    # One state export per PATCH (8 MiB), as the service saves it with the offset.
    hasher.state()
    return hasher.hexdigest(), time.perf_counter() - start


def _raw(buffer: bytes) -> tuple[str, float]:
    digest = hashlib.sha256()
    view = memoryview(buffer)
    start = time.perf_counter()
    for offset in range(0, len(view), 1024 * 1024):
        digest.update(view[offset : offset + 1024 * 1024])
    return digest.hexdigest(), time.perf_counter() - start


def run(ctx: Context) -> list[Row]:
    size = ctx.sizes.hash_bytes
    buffer = os.urandom(size)
    chunks = [buffer[i : i + NET_CHUNK] for i in range(0, size, NET_CHUNK)]
    raw, direct, tus = [], [], []
    for _ in range(max(ctx.repeats, 3)):
        expected, seconds = _raw(buffer)
        raw.append(size / MB / seconds)
        got, seconds = asyncio.run(_direct(chunks, size))
        assert got == expected, "direct path digest differs from hashlib"
        direct.append(size / MB / seconds)
        got, seconds = asyncio.run(_tus(chunks))
        assert got == expected, "tus path digest differs from hashlib"
        tus.append(size / MB / seconds)
    common: dict[str, Any] = {
        "unit": "MB/s",
        "baseline_name": "hashlib.sha256, 1 MiB blocks",
        "metric": f"SHA-256 over {size / MB:.0f} MB",
    }
    return [
        Row(
            case="sha256: direct path",
            config="in-process",
            ours=Stat.of(direct),
            baseline=Stat.of(raw),
            ratio=ratio_stat(direct, raw),
            note="limit_size + StreamDigest over 64 KiB chunks",
            **common,
        ),
        Row(
            case="sha256: tus path",
            config="in-process",
            ours=Stat.of(tus),
            baseline=Stat.of(raw),
            ratio=ratio_stat(tus, raw),
            note=f"resumable OpenSSL context via ctypes ({'yes' if hashstate.resumable() else 'NO: hashlib fallback'})",
            **common,
        ),
    ]
