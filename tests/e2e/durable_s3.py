"""An S3 server process that keeps its objects across a crash, for fault-injection tests.

moto's server keeps everything in memory, so killing it loses the staged parts a real
MinIO would still hold on disk after a restart. This runs the same moto server with one
difference: after every write it saves its buckets (objects, multipart uploads, retention)
to a file before answering, and loads that file when it starts. An acknowledged write is
durable, like a disk-backed S3 server, so a test can SIGKILL the process mid-upload and
start it again on the same port with the same data.

A test can also hold one request before it runs (``--hold "PUT .*[?&]retention"``): the
server writes ``<hold-dir>/held`` and waits for ``<hold-dir>/release``, so a test stops the
database (or kills this server) at an exact step of a completion.

    python -m tests.e2e.durable_s3 --port 9000 --state /tmp/s3.pickle [--hold REGEX --hold-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.serving import run_simple

ACCOUNT = "123456789012"  # moto's default account
PARTITION = "aws"
HOLD_LIMIT_S = 60  # a held request goes on by itself after this (a test that forgot to release)


def _backend() -> Any:
    return s3_backends[ACCOUNT][PARTITION]


class DurableS3:
    """WSGI middleware: one request at a time, state saved after each write."""

    def __init__(self, app: Callable[..., Iterable[bytes]], state: Path, hold: re.Pattern[str] | None, hold_dir: Path | None):
        self.app = app
        self.state = state
        self.hold = hold
        self.hold_dir = hold_dir
        self.lock = threading.Lock()
        if state.exists():
            _backend().buckets = pickle.loads(state.read_bytes())  # noqa: S301 - this server's own file

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = str(environ["REQUEST_METHOD"])
        self._maybe_hold(f"{method} {environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}")
        with self.lock:
            answer = self.app(environ, start_response)
            try:
                body = b"".join(answer)  # run the request fully before saving
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()
            if method not in {"GET", "HEAD", "OPTIONS"}:
                self._save()
        return [body]

    def _save(self) -> None:
        scratch = self.state.with_suffix(".tmp")
        scratch.write_bytes(pickle.dumps(_backend().buckets, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(scratch, self.state)  # a kill mid-save leaves the previous state whole

    def _maybe_hold(self, request_line: str) -> None:
        if self.hold is None or self.hold_dir is None or not self.hold.search(request_line):
            return
        self.hold = None  # hold once
        (self.hold_dir / "held").write_text(request_line)
        release = self.hold_dir / "release"
        deadline = time.monotonic() + HOLD_LIMIT_S
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--hold", default=None, help="regex over 'METHOD /path?query' of the one request to hold")
    parser.add_argument("--hold-dir", type=Path, default=None)
    args = parser.parse_args()
    hold = re.compile(args.hold) if args.hold else None
    app = DurableS3(DomainDispatcherApplication(create_backend_app), args.state, hold, args.hold_dir)
    run_simple("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
