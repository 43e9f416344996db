"""The peer: the official Node tus server (@tus/server with @tus/file-store or @tus/s3-store),
and the second tus client, tus-js-client (the official JavaScript client, run in Node).

Pinned versions live in ``bench/peer/package.json`` + ``package-lock.json`` (committed);
``npm ci`` installs them into ``bench/node/`` (git-ignored), together with the two scripts.
Where node/npm is missing, or the install fails (no network), the peer is skipped with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.context import Context
from bench.harness import Child, free_port, wait_for_port
from bench.stack import S3_KEY, S3Server, clean_env, empty_bucket
from bench.tus import tus_upload

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "peer"
TARGET = HERE / "node"
SCRIPT = "tus_server.mjs"
CLIENT = "tus_client.mjs"
CLIENTS = ("tuspy", "tus-js-client")
_checked: dict[bool, str] = {}


def unavailable(*, install: bool) -> str:
    """'' when the peer can run; else why not. ``install`` allows ``npm ci`` (network)."""
    if install in _checked:
        return _checked[install]
    _checked[install] = reason = _check(install)
    return reason


def _check(install: bool) -> str:
    if shutil.which("node") is None:
        return "node is not installed"
    TARGET.mkdir(exist_ok=True)
    for name in ("package.json", "package-lock.json", SCRIPT, CLIENT):
        shutil.copyfile(SOURCE / name, TARGET / name)
    modules = TARGET / "node_modules"
    if all((modules / name).is_dir() for name in ("@tus/server", "@tus/s3-store", "@tus/file-store", "tus-js-client")):
        return ""
    if not install:
        return "Node tus server not installed (run `make bench` once with network; the smoke run never installs)"
    if shutil.which("npm") is None:
        return "npm is not installed"
    try:
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TARGET,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "npm ci timed out after 300 s"
    if done.returncode != 0:
        return f"npm ci failed: {done.stderr.strip()[-300:]}"
    return ""


def _start(ctx: Context, args: list[str]) -> tuple[Child, int]:
    port = free_port()
    child = Child(
        "Node tus peer",
        ["node", SCRIPT, str(port), *args],
        cwd=str(TARGET),
        env=clean_env(),
        log=ctx.work / "logs" / f"peer-{port}.log",
    )
    wait_for_port(port, child=child, timeout=30)
    return child, port


@dataclass
class Run:
    """One upload: wall seconds and the CPU seconds the server process spent on it."""

    seconds: float
    server_cpu_s: float


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def upload(client: str, url: str, headers: dict[str, str], path: Path, chunk: int, metadata: dict[str, str]) -> float:
    """Upload ``path`` with one of ``CLIENTS``; seconds from the first request to the last answer."""
    if client == "tuspy":
        return tus_upload(url, headers, path, chunk, metadata)
    done = subprocess.run(
        ["node", CLIENT, url, str(path), str(chunk), json.dumps(headers), json.dumps(metadata)],
        cwd=TARGET,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tus-js-client failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return float(done.stdout.strip().splitlines()[-1])


def upload_files(ctx: Context, path: Path, chunk: int, client: str = "tuspy") -> Run:
    """A fresh Node server on the file store, one upload with ``client``."""
    directory = ctx.work / "peer-files"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    child, port = _start(ctx, ["file", str(directory)])
    try:
        before = cpu_seconds(child.pid)
        seconds = upload(
            client, f"http://127.0.0.1:{port}/files/", {}, path, chunk, {"filename": path.name, "filetype": "video/mp4"}
        )
        return Run(seconds=seconds, server_cpu_s=cpu_seconds(child.pid) - before)
    finally:
        child.stop()
        shutil.rmtree(directory, ignore_errors=True)


def upload_s3(ctx: Context, s3: S3Server, path: Path, chunk: int) -> float:
    client = s3.client()
    bucket = "peer"
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    child, port = _start(ctx, ["s3", s3.endpoint, bucket, S3_KEY, S3_KEY, str(chunk)])
    try:
        seconds = tus_upload(f"http://127.0.0.1:{port}/files/", {}, path, chunk, {"filename": path.name, "filetype": "video/mp4"})
    finally:
        child.stop()
    time.sleep(0)
    empty_bucket(client, bucket)
    return seconds
