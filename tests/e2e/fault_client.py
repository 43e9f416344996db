"""The phone's side of the fault tests (tests/e2e/test_fault_injection.py): a tuspy upload
that a test can stop, resume and finish by hand, and what a retryable answer must look like."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from tusclient import client as tus_client

from tests.e2e.test_tus_e2e import PATH, ApiServer, capture_metadata, login

KiB = 1024
MiB = 1024 * KiB
TUS = {"Tus-Resumable": "1.0.0"}
RECOVERY_S = 30  # bound on waiting for a restarted server (a readiness wait, not a timing assertion)
LOCK_RETURN_S = 10  # a third of the upload lock's lease: a lock left to lapse would take 30 s


def wait_until(predicate: Any, what: str, timeout: float = RECOVERY_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def finish_raw_patch(sock: socket.socket, rest: bytes) -> Answer:
    """Send the rest of a hand-made PATCH while reading the answer: the server may answer
    (and close) before it has read the whole body."""

    def send() -> None:
        with contextlib.suppress(OSError):  # the server answered and closed first
            sock.sendall(rest)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = b""
    try:
        while b"\r\n\r\n" not in received or len(received) < _expected_size(received):
            block = sock.recv(65536)
            if not block:
                break
            received += block
    finally:
        sock.close()
        sender.join(timeout=10)
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    return Answer(status=int(lines[0].split()[1]), headers=headers, body=body)


def _expected_size(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("content-length:"):
            return len(head) + 4 + int(line.split(":", 1)[1])
    return len(received) + 1


def assert_retryable(status: int, headers: Any, body: bytes, slug: str) -> None:
    """503 problem+json naming the fault, with a Retry-After the client can honour."""
    assert status == 503, body
    assert headers["content-type"].startswith("application/problem+json")
    assert int(headers["retry-after"]) > 0
    assert json.loads(body)["type"] == f"/problems/{slug}"


class Upload:
    """One capture sent with tuspy; ``data`` is its whole file."""

    def __init__(self, api: ApiServer, officer_case: tuple[Any, Any], data: bytes, folder: Path) -> None:
        officer, case = officer_case
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.file = folder / "capture.pdf"
        self.file.write_bytes(data)
        self.auth = login(api, officer.username)
        self.client = tus_client.TusClient(api.url + PATH, headers=self.auth)
        self.metadata = capture_metadata(data, case.id)
        self.url = ""

    def start(self, upto: int) -> None:
        """Create the upload and send its first ``upto`` bytes."""
        uploader = self.client.uploader(file_path=str(self.file), chunk_size=1 * MiB, metadata=self.metadata)
        uploader.upload(stop_at=upto)
        assert uploader.url is not None
        self.url = uploader.url

    def resume(self) -> int:
        """What a phone does once the server is back: HEAD, then send the rest from there."""
        resumed = self.client.uploader(file_path=str(self.file), url=self.url, chunk_size=4 * MiB)
        durable = resumed.offset
        resumed.upload()
        return durable

    def head(self) -> requests.Response:
        return requests.head(self.url, headers={**self.auth, **TUS}, timeout=30)

    def patch(self, offset: int) -> requests.Response:
        headers = {**self.auth, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        return requests.patch(self.url, headers=headers, data=self.data[offset:], timeout=90)

    def finish_in_background(self, offset: int) -> Callable[[], requests.Response]:
        """Send the rest as one PATCH from a thread; the result waits for its answer."""
        answers: list[requests.Response] = []
        sender = threading.Thread(target=lambda: answers.append(self.patch(offset)), daemon=True)
        sender.start()

        def answer() -> requests.Response:
            sender.join(timeout=90)
            return answers[0]

        return answer

    def lock_given_back(self) -> bool:
        head = self.head()
        return head.status_code == 200 and "Upload-Lock-Expires" not in head.headers

    def finish_completion(self) -> requests.Response:
        """After a 503 on the last chunk HEAD shows every byte received but no
        Fieldproof-Evidence-Id: the phone sends the last PATCH again, empty, at the end."""
        head = self.head()
        if head.status_code == 503:
            return head
        assert head.status_code == 200, head.status_code
        assert int(head.headers["Upload-Offset"]) == len(self.data)
        assert "Fieldproof-Evidence-Id" not in head.headers
        return self.patch(len(self.data))


def finish_after_recovery(upload: Upload) -> requests.Response:
    """A phone finishing its upload once the database is back: it retries while the server
    says 503 (the first requests after a restart may meet pooled connections the restart cut).
    Before each try the upload's write lock must be free — a request that failed because the
    database went away gives its lock back as soon as the database answers, well within a
    third of the 30 s lease (HEAD shows Upload-Lock-Expires while a lock is held)."""
    deadline = time.monotonic() + RECOVERY_S
    while True:
        wait_until(upload.lock_given_back, "the failed request giving its upload lock back", timeout=LOCK_RETURN_S)
        response = upload.finish_completion()
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)
