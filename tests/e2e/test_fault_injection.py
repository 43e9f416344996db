"""Faults injected with real processes (issue 15, point 6): the S3 server SIGKILLed in the
middle of a tus upload and while a completion seals the object, the database stopped while
a completion runs. Each test has processes of its own — a PostgreSQL cluster it may stop
(tests/e2e/private_postgres.py), an S3 server that keeps its objects across a kill
(tests/e2e/durable_s3.py), the API (``fieldproof serve``) and the tuspy client — so stopping
them harms no other test. The API killed mid-upload is tests/e2e/test_tus_e2e.py.

What must hold: the client gets a retryable 503 with Retry-After (never a hang or a 500),
resumes once the server is back, the object in S3 hashes to the declared SHA-256, and
``fieldproof reconcile`` then finds no object without its row and no row without its object.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from minio import Minio

from backend.audit import check_completeness
from backend.core import db
from backend.core.keys import load_key_ring
from backend.core.settings import load_settings
from backend.ledger.verify import verify_ledger
from backend.registry import all_tables
from evidence.custody.reconcile import ReconcileReport
from evidence.custody.reconcile import reconcile as reconcile_objects
from evidence.store import open_store
from tests import factories as make
from tests.conftest import S3Server, _free_port, _wait_for_port
from tests.e2e.fault_client import MiB, Upload, assert_retryable, finish_after_recovery, finish_raw_patch, wait_until
from tests.e2e.private_postgres import PrivateCluster, unavailable_reason
from tests.e2e.test_tus_e2e import ROOT, ApiServer, raw_patch_start
from tests.integration.uploads.conftest import pdf_bytes

pytestmark = pytest.mark.slow

TEMPLATE = "faults_template"


# --- the processes --------------------------------------------------------------------------


class DurableS3Process:
    """tests/e2e/durable_s3.py as a process: ``kill`` is SIGKILL, ``start`` again keeps the data."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.state = folder / "s3-state.pickle"
        self.proc: subprocess.Popen[bytes] | None = None
        self.server = S3Server(endpoint=f"http://127.0.0.1:{self.port}", access_key="testing", secret_key="testing")

    def spawn(self, *, hold: str | None = None) -> None:
        args = ["--port", str(self.port), "--state", str(self.state)]
        if hold:
            args += ["--hold", hold, "--hold-dir", str(self.folder)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.durable_s3", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def start(self, *, hold: str | None = None) -> None:
        self.spawn(hold=hold)
        _wait_for_port(self.port)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def wait_held(self) -> str:
        held = self.folder / "held"
        wait_until(held.exists, "the S3 server holding the request")
        return held.read_text()

    def release(self) -> None:
        (self.folder / "release").touch()


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    made = PrivateCluster()
    try:
        made.start()
        asyncio.run(_create_database(made.url(), TEMPLATE))
        env = {**_base_env(), "FIELDPROOF_DATABASE_URL": made.url(TEMPLATE), "FIELDPROOF_DATA_DIR": str(made.root)}
        subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        yield made
    finally:
        made.destroy()


async def _create_database(server: str, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(server, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await conn.close()


@pytest.fixture
def database_in_cluster(cluster: PrivateCluster) -> str:
    """A database of this test's own in the cluster, cloned from the migrated template."""
    name = f"faults_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(cluster.url(), name, template=TEMPLATE))
    return cluster.url(name)


@pytest.fixture
async def officer_case(database_in_cluster: str) -> tuple[Any, Any]:
    """An officer and a case in the test's database."""
    async with bound_to(database_in_cluster):
        officer = await make.person(roles=["officer"])
        return officer, await make.case(officer)


@dataclass
class Stack:
    s3: DurableS3Process
    api: ApiServer
    env: dict[str, str]

    def start(self, *, hold: str | None = None) -> None:
        """Both servers, starting side by side (each takes seconds to import)."""
        self.s3.spawn(hold=hold)
        self.api.start()
        _wait_for_port(self.s3.port)


@pytest.fixture
def stack(database_in_cluster: str, tmp_path: Path) -> Iterator[Stack]:
    s3 = DurableS3Process(tmp_path)
    bucket = f"faults-{uuid.uuid4().hex[:10]}"
    env = {
        **_base_env(),
        "FIELDPROOF_DATA_DIR": str(tmp_path / "server"),
        "FIELDPROOF_KEY_DIR": str(tmp_path / "server-keys"),
        "FIELDPROOF_DATABASE_URL": database_in_cluster,
        "FIELDPROOF_DATABASE_POOL_MAX": "2",
        "FIELDPROOF_STORE_URL": s3.server.endpoint,
        "FIELDPROOF_S3_ACCESS_KEY": s3.server.access_key,
        "FIELDPROOF_S3_SECRET_KEY": s3.server.secret_key,
        "FIELDPROOF_S3_BUCKET": bucket,
        "FIELDPROOF_S3_STAGING_BUCKET": f"{bucket}-staging",
        "FIELDPROOF_S3_PART_SIZE": str(5 * MiB),
        "FIELDPROOF_CHECKPOINT_INTERVAL_S": "0",
        "FIELDPROOF_SWEEP_INTERVAL_S": "0",  # nothing finishes a completion behind the test's back
        "FIELDPROOF_LOG_LEVEL": "WARNING",
    }
    made = Stack(s3=s3, api=ApiServer(env), env=env)
    try:
        yield made
    finally:
        made.api.kill()
        made.s3.kill()


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FIELDPROOF_")}


# --- what the store and the database hold --------------------------------------------------


def s3_object(stack: Stack, sha256: str) -> tuple[str, str | None]:
    """The evidence object's SHA-256 and retention, read straight from the S3 server."""
    server = stack.s3.server
    minio = Minio(server.endpoint.split("://", 1)[1], access_key=server.access_key, secret_key=server.secret_key, secure=False)
    bucket, key = stack.env["FIELDPROOF_S3_BUCKET"], f"sha256/{sha256}"
    response = minio.get_object(bucket, key)
    try:
        digest = hashlib.sha256(response.read()).hexdigest()
    finally:
        response.close()
        response.release_conn()
    retained = (minio.stat_object(bucket, key).metadata or {}).get("x-amz-object-lock-retain-until-date")
    return digest, retained


@contextlib.asynccontextmanager
async def bound_to(url: str) -> AsyncIterator[None]:
    """The tables bound to ``url`` meanwhile (the test session's own binding put back after)."""
    previous = db._engine
    db.bind(db.make_engine(url), all_tables())
    try:
        yield
    finally:
        if previous is not None:
            db.bind(previous, all_tables())


def reconcile(stack: Stack) -> ReconcileReport:
    """What ``fieldproof reconcile`` reports over the API's database and store (run here, in
    process: the command itself is tests/integration/core/test_cli.py's)."""
    settings = load_settings(stack.env)

    async def run() -> ReconcileReport:
        async with bound_to(settings.effective_database_url):
            store = open_store(settings)
            try:
                return await reconcile_objects(store, settings=settings)
            finally:
                await store.close()

    return asyncio.run(run())


def assert_nothing_orphaned(stack: Stack) -> None:
    report = reconcile(stack)
    assert report.objects_without_rows == [], report
    assert report.rows_without_objects == [], report
    assert report.ok, report


def assert_ledger_complete(stack: Stack) -> None:
    """``verify-ledger``'s checks: the chain holds and every evidence record has its entries."""
    settings = load_settings(stack.env)

    async def run() -> tuple[bool, bool]:
        async with bound_to(settings.effective_database_url):
            keys = load_key_ring(settings.effective_key_dir, retention_s=settings.key_retention_s)
            return (await verify_ledger(keys=keys, record=False)).ok, (await check_completeness()).ok

    assert asyncio.run(run()) == (True, True)


def holding_the_seal(stack: Stack, sha256: str) -> str:
    """The S3 request that retains a completed evidence object (the step before its record)."""
    return rf"^PUT /{stack.env['FIELDPROOF_S3_BUCKET']}/sha256/{sha256}\?.*retention"


# --- the faults -------------------------------------------------------------------------------


@pytest.mark.requirement("R-REC-5", "R-REC-6")
def test_s3_killed_mid_patch_answers_503_and_the_upload_resumes_once_it_is_back(stack, officer_case, tmp_path):
    stack.start()
    upload = Upload(stack.api, officer_case, pdf_bytes(6 * MiB + 77, seed=21), tmp_path)
    upload.start(upto=1 * MiB)  # a tail piece is staged in S3

    path = "/" + upload.url.split("/", 3)[3]
    first = upload.data[1 * MiB : 3 * MiB]
    sock = raw_patch_start(stack.api, path, upload.auth, offset=1 * MiB, length=len(upload.data) - 1 * MiB, first=first)
    stack.s3.kill()  # mid-body: the part this PATCH is filling can no longer be written
    answer = finish_raw_patch(sock, upload.data[3 * MiB :])
    assert_retryable(answer.status, answer.headers, answer.body, "object-store-unavailable")
    assert int(upload.head().headers["Upload-Offset"]) == 1 * MiB  # nothing undurable counted

    stack.s3.start()  # same port, same objects (a restarted MinIO keeps its disk)
    assert upload.resume() == 1 * MiB
    head = upload.head()
    assert int(head.headers["Upload-Offset"]) == len(upload.data)
    assert "Fieldproof-Evidence-Id" in head.headers
    assert s3_object(stack, upload.sha256)[0] == upload.sha256
    assert_nothing_orphaned(stack)


@pytest.mark.requirement("R-REC-5", "R-REC-6")
def test_s3_killed_while_the_completion_seals_answers_503_and_the_retried_completion_seals_it(stack, officer_case, tmp_path):
    data = pdf_bytes(6 * MiB + 5, seed=22)
    stack.start(hold=holding_the_seal(stack, hashlib.sha256(data).hexdigest()))  # the object is complete, not yet retained
    upload = Upload(stack.api, officer_case, data, tmp_path)
    upload.start(upto=1 * MiB)

    answer = upload.finish_in_background(1 * MiB)
    stack.s3.wait_held()
    stack.s3.kill()
    refused = answer()
    assert_retryable(refused.status_code, refused.headers, refused.content, "object-store-unavailable")

    stack.s3.start()
    completed = upload.finish_completion()  # before the fix: rejected (410), the object left unretained
    assert completed.status_code == 204, completed.text
    assert "Fieldproof-Evidence-Id" in completed.headers
    digest, retained = s3_object(stack, upload.sha256)
    assert digest == upload.sha256
    assert retained is not None  # R-REC-6: the retried completion sealed the object it found written
    assert_nothing_orphaned(stack)


@pytest.mark.requirement("R-REC-5", "R-REC-6", "R-REC-7")
def test_database_stopped_during_finalisation_answers_503_and_leaves_no_orphan(stack, cluster, officer_case, tmp_path):
    data = pdf_bytes(6 * MiB + 9, seed=23)
    stack.start(hold=holding_the_seal(stack, hashlib.sha256(data).hexdigest()))  # sealed next; its record comes after
    upload = Upload(stack.api, officer_case, data, tmp_path)
    upload.start(upto=1 * MiB)

    answer = upload.finish_in_background(1 * MiB)
    stack.s3.wait_held()
    cluster.stop()  # a crash: connections cut, no checkpoint
    stack.s3.release()  # the object is sealed; writing its record finds no database
    refused = answer()
    assert_retryable(refused.status_code, refused.headers, refused.content, "database-unavailable")

    cluster.start()
    found = reconcile(stack)  # the sealed object waits for its record, named with the upload that declared it
    assert [(f.kind, str(f.upload_id)) for f in found.objects_without_rows] == [("orphan-sealed", upload.url.rsplit("/", 1)[1])]
    assert found.rows_without_objects == []

    completed = finish_after_recovery(upload)  # the lock comes back at once, not after the 30 s lease
    assert completed.status_code == 204, completed.text
    assert s3_object(stack, upload.sha256)[0] == upload.sha256
    assert_nothing_orphaned(stack)
    assert_ledger_complete(stack)  # the record and its ledger entries were written together
