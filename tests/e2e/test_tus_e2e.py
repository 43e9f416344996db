"""tus end to end: real API server processes (uvicorn via ``fieldproof serve``), the S3 server,
the tuspy client; crashes, dropped connections and a second API process on the same database.

Bytes are read back directly from the S3 server with the minio client, not through our code.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from minio import Minio
from tusclient import client as tus_client

from backend.core.settings import Settings
from evidence.uploads.protocol import encode_upload_metadata
from evidence.uploads.tables import Upload
from tests import factories as make
from tests.conftest import S3Server, _free_port, _wait_for_port
from tests.factories import PASSWORD
from tests.integration.uploads.conftest import pdf_bytes

pytestmark = pytest.mark.slow

KiB = 1024
MiB = 1024 * KiB
PATH = "/api/mobile/v1/uploads/"
ROOT = Path(__file__).resolve().parents[2]


class ApiServer:
    """One API process; ``kill`` is a crash (SIGKILL), not a graceful stop."""

    def __init__(self, env: dict[str, str], port: int | None = None) -> None:
        self.env = env
        self.port = port or _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def server_env(settings: Settings, s3_server: S3Server, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDPROOF_") or k.startswith("FIELDPROOF_TEST_")}
    bucket = f"e2e-{uuid.uuid4().hex[:10]}"
    env.update(
        {
            "FIELDPROOF_DATA_DIR": str(tmp_path / "server"),
            "FIELDPROOF_DATABASE_URL": settings.effective_database_url,
            "FIELDPROOF_KEY_DIR": str(tmp_path / "server-keys"),
            "FIELDPROOF_STORE_URL": s3_server.endpoint,
            "FIELDPROOF_S3_ACCESS_KEY": s3_server.access_key,
            "FIELDPROOF_S3_SECRET_KEY": s3_server.secret_key,
            "FIELDPROOF_S3_BUCKET": bucket,
            "FIELDPROOF_S3_STAGING_BUCKET": f"{bucket}-staging",
            "FIELDPROOF_S3_PART_SIZE": str(5 * MiB),
            "FIELDPROOF_DATABASE_POOL_MAX": "2",
            "FIELDPROOF_LOG_LEVEL": "WARNING",
        }
    )
    return env


@pytest.fixture
def servers(server_env: dict[str, str]) -> Iterator[list[ApiServer]]:
    started: list[ApiServer] = []
    yield started
    for server in started:
        server.kill()


@pytest.fixture
async def officer_case(make_person: Any) -> tuple[Any, Any]:
    officer = await make_person(roles=["officer"])
    return officer, await make.case(officer)


def login(server: ApiServer, username: str) -> dict[str, str]:
    response = requests.post(f"{server.url}/api/v1/auth/login", json={"username": username, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def capture_metadata(data: bytes, case_id: Any) -> dict[str, str]:
    return {
        "filename": "demolition.pdf",
        "filetype": "application/pdf",
        "sha256": hashlib.sha256(data).hexdigest(),
        "case_id": str(case_id),
        "captured_at": "2026-05-01T09:30:00+08:00",
        "device_id": "phone-e2e",
        "lat": "31.23",
        "lon": "121.47",
    }


def s3_sha256(env: dict[str, str], s3: S3Server, sha256: str) -> str:
    """Read the evidence object straight from the S3 server and hash it."""
    endpoint = s3.endpoint.split("://", 1)[1]
    minio = Minio(endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=s3.endpoint.startswith("https"))
    response = minio.get_object(env["FIELDPROOF_S3_BUCKET"], f"sha256/{sha256}")
    digest = hashlib.sha256()
    try:
        for block in response.stream(1 * MiB):
            digest.update(block)
    finally:
        response.close()
        response.release_conn()
    return digest.hexdigest()


def head_offset(server: ApiServer, url: str, auth: dict[str, str]) -> int:
    response = requests.head(url, headers={**auth, "Tus-Resumable": "1.0.0"}, timeout=30)
    assert response.status_code == 200, response.status_code
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


def wait_until(predicate: Any, what: str, timeout: float = 60) -> None:
    """Poll for a state another process reaches (a readiness wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def raw_patch_start(
    server: ApiServer, path: str, auth: dict[str, str], *, offset: int, length: int, first: bytes
) -> socket.socket:
    """Begin a PATCH by hand (headers + part of the body) so a test controls when it stops."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: {auth['Authorization']}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + first)
    return sock


@pytest.mark.requirement("R-REC-5", "R-REC-6")
def test_tuspy_upload_survives_an_api_crash_and_lands_in_s3(servers, server_env, s3_server, officer_case, tmp_path):
    officer, case = officer_case
    data = pdf_bytes(12 * MiB + 4321, seed=11)
    path = tmp_path / "capture.pdf"
    path.write_bytes(data)
    server = ApiServer(server_env).start()
    servers.append(server)
    auth = login(server, officer.username)

    client = tus_client.TusClient(server.url + PATH, headers=auth)
    uploader = client.uploader(
        file_path=str(path), chunk_size=512 * KiB, metadata=capture_metadata(data, case.id), upload_checksum=True
    )
    uploader.upload(stop_at=7 * MiB)  # 14 PATCHes: one full part and some tail pieces are staged
    assert uploader.url is not None

    server.kill()  # the API process crashes mid-upload
    restarted = ApiServer(server_env, port=server.port).start()
    servers.append(restarted)
    durable = head_offset(restarted, uploader.url, auth)
    assert 0 < durable <= 7 * MiB  # HEAD never reports more than what was made durable

    resumed = client.uploader(file_path=str(path), url=uploader.url, chunk_size=512 * KiB, upload_checksum=True)
    assert resumed.offset == durable
    resumed.upload()
    assert head_offset(restarted, uploader.url, auth) == len(data)
    assert s3_sha256(server_env, s3_server, hashlib.sha256(data).hexdigest()) == hashlib.sha256(data).hexdigest()


@pytest.mark.requirement("R-REC-5")
def test_a_connection_dropped_mid_patch_keeps_its_bytes(servers, server_env, s3_server, officer_case, tmp_path):
    officer, case = officer_case
    data = pdf_bytes(8 * MiB, seed=12)
    path = tmp_path / "capture.pdf"
    path.write_bytes(data)
    server = ApiServer(server_env).start()
    servers.append(server)
    auth = login(server, officer.username)
    client = tus_client.TusClient(server.url + PATH, headers=auth)
    uploader = client.uploader(file_path=str(path), chunk_size=1 * MiB, metadata=capture_metadata(data, case.id))
    uploader.upload(stop_at=1 * MiB)
    url = uploader.url
    assert url is not None
    sent = 5 * MiB + 123 * KiB
    sock = raw_patch_start(
        server, "/" + url.split("/", 3)[3], auth, offset=1 * MiB, length=7 * MiB, first=data[1 * MiB : 1 * MiB + sent]
    )
    sock.close()  # the phone loses its network mid-chunk
    wait_until(lambda: head_offset(server, url, auth) > 1 * MiB, "the server noticing the drop")
    assert head_offset(server, url, auth) == 1 * MiB + sent
    resumed = client.uploader(file_path=str(path), url=url, chunk_size=2 * MiB)
    resumed.upload()
    assert s3_sha256(server_env, s3_server, hashlib.sha256(data).hexdigest()) == hashlib.sha256(data).hexdigest()


async def _locked(upload_id: uuid.UUID) -> bool:
    row = await Upload.select(Upload.lock_token).where(Upload.id == upload_id).first()
    return row is not None and row["lock_token"] is not None


def test_two_api_processes_cannot_append_to_one_upload_at_once(servers, server_env, officer_case):
    """The write lock lives in the shared database, so it holds across API processes."""
    officer, case = officer_case
    data = pdf_bytes(2 * MiB, seed=13)
    first, second = ApiServer(server_env).start(), ApiServer(server_env).start()
    servers.extend([first, second])
    auth = login(first, officer.username)
    created = requests.post(
        first.url + PATH,
        headers={
            **auth,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Upload-Metadata": encode_upload_metadata({k: v.encode() for k, v in capture_metadata(data, case.id).items()}),
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    path = created.headers["Location"]
    upload_id = uuid.UUID(path.rsplit("/", 1)[1])

    sock = raw_patch_start(first, path, auth, offset=0, length=len(data), first=data[: 256 * KiB])
    try:
        wait_until(lambda: asyncio.run(_locked(upload_id)), "the first process taking the lock")
        competing = requests.patch(
            second.url + path,
            headers={**auth, "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
            data=data,
            timeout=30,
        )
        assert competing.status_code == 423  # the first PATCH still streams on the other process
        sock.sendall(data[256 * KiB :])
        answer = sock.recv(4096).decode("latin-1")
        assert answer.startswith("HTTP/1.1 204"), answer
    finally:
        sock.close()
    assert head_offset(second, second.url + path, auth) == len(data)
