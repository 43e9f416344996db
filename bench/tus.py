"""The tus client both servers are measured with (our API and the Node peer)."""

from __future__ import annotations

import time
from pathlib import Path

from tusclient import client as tus_client


def tus_upload(url: str, headers: dict[str, str], path: Path, chunk: int, metadata: dict[str, str]) -> float:
    """The same tuspy client for our server and the peer; returns seconds for the whole upload."""
    client = tus_client.TusClient(url, headers=headers)
    uploader = client.uploader(str(path), chunk_size=chunk, metadata=metadata, retries=0)
    start = time.perf_counter()
    uploader.upload()
    seconds = time.perf_counter() - start
    if uploader.offset != path.stat().st_size:
        raise RuntimeError(f"tus upload stopped at {uploader.offset} of {path.stat().st_size} bytes")
    return seconds
