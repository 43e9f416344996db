"""tus 1.0.0 over the real app, database and store (files and the S3 server): every status."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta

import msgspec
import pytest

from backend.core import clock
from backend.core.settings import Settings
from evidence.hashing import content_key
from evidence.store import open_store
from evidence.tables import EvidenceItem
from evidence.uploads.tables import Upload
from tests.integration.uploads.conftest import BASE, OFFSET_STREAM, TUS, login, metadata, pdf_bytes

KiB = 1024
MiB = 1024 * KiB


def upload_id(url: str) -> uuid.UUID:
    return uuid.UUID(url.rsplit("/", 1)[1])


async def row(url: str) -> dict:
    found = await Upload.select().where(Upload.id == upload_id(url)).first()
    assert found is not None
    return found


async def read_object(settings: Settings, key: str) -> bytes:
    store = open_store(settings)
    try:
        return b"".join([block async for block in store.read(key)])
    finally:
        await store.close()


async def test_options_advertises_the_server(client, upload_settings):
    response = await client.options(BASE + "/")
    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "expiration",
        "checksum",
        "termination",
    }
    assert response.headers["tus-max-size"] == str(upload_settings.tus_max_size)
    assert "sha1" in response.headers["tus-checksum-algorithm"].split(",")
    assert "Upload-Offset" in response.headers["access-control-expose-headers"]
    assert "tus-resumable" not in response.headers  # not on OPTIONS


@pytest.mark.requirement("R-REC-5")
async def test_create_head_patch_complete(tus, upload_settings):
    data = pdf_bytes(300 * KiB)
    created = await tus.create(data)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    assert url.startswith(BASE + "/")
    assert created.headers["tus-resumable"] == "1.0.0"
    assert created.headers["upload-expires"].endswith("GMT")
    assert "Location" in created.headers["access-control-expose-headers"]

    head = await tus.head(url)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "0"
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert head.content == b""

    first = await tus.patch(url, 0, data[: 100 * KiB])
    assert first.status_code == 204
    assert first.headers["upload-offset"] == str(100 * KiB)
    assert "upload-expires" in first.headers
    last = await tus.patch(url, 100 * KiB, data[100 * KiB :])
    assert last.status_code == 204
    assert last.headers["upload-offset"] == str(len(data))
    evidence_id = uuid.UUID(last.headers["fieldproof-evidence-id"])

    item = await EvidenceItem.select().where(EvidenceItem.id == evidence_id).first()
    assert item is not None
    assert item["sha256"] == hashlib.sha256(data).hexdigest()
    assert item["case_id"] == tus.case_id
    assert await read_object(upload_settings, content_key(item["sha256"])) == data
    stored = await row(url)
    assert stored["status"] == "completed"
    assert stored["staged_cleaned_at"] is not None


async def test_trailing_slash_and_creation_with_upload(tus):
    data = pdf_bytes(64 * KiB, seed=1)
    created = await tus.create(data, body=data[: 10 * KiB])
    assert created.status_code == 201, created.text
    assert created.headers["upload-offset"] == str(10 * KiB)
    done = await tus.patch(created.headers["location"], 10 * KiB, data[10 * KiB :])
    assert done.status_code == 204
    assert "fieldproof-evidence-id" in done.headers


@pytest.mark.parametrize("version", [None, "0.2.2"])
async def test_wrong_or_missing_tus_resumable_is_412_with_tus_version(tus, version):
    data = pdf_bytes(10 * KiB)
    url = (await tus.create(data)).headers["location"]
    headers = {**tus.auth, **OFFSET_STREAM, "Upload-Offset": "0"}
    if version:
        headers["Tus-Resumable"] = version
    for method in ("PATCH", "HEAD", "DELETE"):
        response = await tus.client.request(method, url, headers=headers, content=data if method == "PATCH" else None)
        assert response.status_code == 412, method
        assert response.headers["tus-version"] == "1.0.0"
    created = await tus.client.post(BASE, headers={**tus.auth, "Upload-Length": "10"})
    assert created.status_code == 412
    assert (await row(url))["offset"] == 0


async def test_patch_without_offset_stream_is_415(tus):
    data = pdf_bytes(10 * KiB)
    url = (await tus.create(data)).headers["location"]
    response = await tus.client.patch(
        url, headers=tus.headers(**{"Upload-Offset": "0", "Content-Type": "application/octet-stream"}), content=data
    )
    assert response.status_code == 415
    assert response.json()["type"] == "/problems/tus-content-type"
    assert (await row(url))["offset"] == 0


async def test_offset_mismatch_is_409(tus):
    data = pdf_bytes(20 * KiB)
    url = (await tus.create(data)).headers["location"]
    assert (await tus.patch(url, 0, data[: 5 * KiB])).status_code == 204
    for wrong in (0, 6 * KiB):
        response = await tus.patch(url, wrong, data[wrong : wrong + KiB])
        assert response.status_code == 409
        assert response.json()["type"] == "/problems/upload-offset-mismatch"
    assert (await row(url))["offset"] == 5 * KiB


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
async def test_checksum_match_is_accepted_and_mismatch_is_460_and_discarded(tus, algorithm):
    data = pdf_bytes(40 * KiB)
    url = (await tus.create(data)).headers["location"]
    chunk = data[: 20 * KiB]

    def checksum(payload: bytes) -> str:
        return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, payload).digest()).decode()}"

    bad = await tus.patch(url, 0, chunk, **{"Upload-Checksum": checksum(b"other bytes")})
    assert bad.status_code == 460
    assert bad.json()["type"] == "/problems/checksum-mismatch"
    assert (await tus.head(url)).headers["upload-offset"] == "0"
    good = await tus.patch(url, 0, chunk, **{"Upload-Checksum": checksum(chunk)})
    assert good.status_code == 204
    assert good.headers["upload-offset"] == str(20 * KiB)
    done = await tus.patch(url, 20 * KiB, data[20 * KiB :], **{"Upload-Checksum": checksum(data[20 * KiB :])})
    assert done.status_code == 204


async def test_unknown_checksum_algorithm_is_400(tus):
    data = pdf_bytes(10 * KiB)
    url = (await tus.create(data)).headers["location"]
    response = await tus.patch(url, 0, data, **{"Upload-Checksum": "crc32 AAAAAA=="})
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/checksum-algorithm-unsupported"


async def test_body_beyond_upload_length_is_413_and_nothing_is_kept(tus):
    data = pdf_bytes(10 * KiB)
    url = (await tus.create(data)).headers["location"]
    response = await tus.patch(url, 0, data + b"extra")
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/upload-length-exceeded"
    assert (await row(url))["offset"] == 0


async def test_malformed_headers_are_400_naming_them(tus):
    data = pdf_bytes(10 * KiB)
    response = await tus.client.post(
        BASE, headers=tus.headers(**{"Upload-Length": "-3", "Upload-Metadata": metadata(data, tus.case_id)})
    )
    assert response.status_code == 400
    assert response.json()["field"] == "Upload-Length"
    response = await tus.create(data, sha256=None)
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/invalid-upload-metadata"
    assert response.json()["field"] == "sha256"
    url = (await tus.create(data)).headers["location"]
    response = await tus.client.patch(url, headers=tus.headers(**OFFSET_STREAM), content=data)
    assert response.status_code == 400
    assert response.json()["field"] == "Upload-Offset"


@pytest.mark.requirement("R-REC-5")
async def test_declared_hash_mismatch_rejects_and_attaches_nothing(tus, upload_settings):
    data = pdf_bytes(6 * MiB)
    created = await tus.create(data, sha256=hashlib.sha256(b"something else").hexdigest())
    url = created.headers["location"]
    assert (await tus.patch(url, 0, data[: 5 * MiB + 7])).status_code == 204
    response = await tus.patch(url, 5 * MiB + 7, data[5 * MiB + 7 :])
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/hash-mismatch"
    assert await EvidenceItem.count().where(EvidenceItem.case_id == tus.case_id) == 0
    stored = await row(url)
    assert stored["status"] == "rejected"
    assert stored["staged_cleaned_at"] is not None
    store = open_store(upload_settings)
    try:
        assert await store.stat(stored["staging_key"]) is None
        assert all(item.upload_id != stored["multipart_id"] for item in await store.list_incomplete_multipart())
    finally:
        await store.close()
    assert (await tus.head(url)).status_code == 410


async def test_termination_removes_staged_data(tus, upload_settings):
    data = pdf_bytes(7 * MiB)
    url = (await tus.create(data)).headers["location"]
    assert (await tus.patch(url, 0, data[: 5 * MiB])).status_code == 204  # a part
    assert (await tus.patch(url, 5 * MiB, data[5 * MiB : 5 * MiB + 100])).status_code == 204  # a tail piece
    before = await row(url)
    assert before["multipart_id"]
    tail = [piece["key"] for piece in msgspec.json.decode(before["tail"])]
    assert tail
    response = await tus.client.delete(url, headers=tus.headers())
    assert response.status_code == 204
    store = open_store(upload_settings)
    try:
        assert [await store.stat(key) for key in tail] == [None] * len(tail)
        assert all(item.upload_id != before["multipart_id"] for item in await store.list_incomplete_multipart())
    finally:
        await store.close()
    assert (await row(url))["status"] == "terminated"
    assert (await tus.head(url)).status_code == 410
    assert (await tus.patch(url, 5 * MiB + 100, data[5 * MiB + 100 :])).status_code == 410


async def test_a_completed_upload_cannot_be_terminated(tus):
    data = pdf_bytes(10 * KiB)
    url, _ = await tus.upload(data, 10 * KiB)
    response = await tus.client.delete(url, headers=tus.headers())
    assert response.status_code == 409
    assert (await tus.patch(url, len(data), b"")).status_code == 409  # a late retry of the last chunk


@pytest.mark.requirement("R-REC-7")
async def test_only_the_owner_sees_or_touches_an_upload(tus, make_person, officer):
    data = pdf_bytes(10 * KiB)
    url = (await tus.create(data)).headers["location"]
    colleague = await make_person(agency=officer.agency)
    stranger = await make_person()
    for person in (colleague, stranger):
        other = {**TUS, **await login(tus.client, person)}
        assert (await tus.client.head(url, headers=other)).status_code == 404
        patch = await tus.client.patch(url, headers={**other, **OFFSET_STREAM, "Upload-Offset": "0"}, content=data)
        assert patch.status_code == 404
        assert (await tus.client.delete(url, headers=other)).status_code == 404
        override = await tus.client.post(url, headers={**other, "X-HTTP-Method-Override": "DELETE"})
        assert override.status_code == 404
    assert (await row(url))["status"] == "open"
    assert (await tus.client.head(url, headers=TUS)).status_code == 401


async def test_method_override_is_authorised_as_the_overridden_method(tus):
    data = pdf_bytes(20 * KiB)
    url = (await tus.create(data)).headers["location"]
    patched = await tus.client.post(
        url, headers=tus.headers(**OFFSET_STREAM, **{"Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"}), content=data[:KiB]
    )
    assert patched.status_code == 204
    assert patched.headers["upload-offset"] == str(KiB)
    headed = await tus.client.post(url, headers=tus.headers(**{"X-HTTP-Method-Override": "HEAD"}))
    assert headed.headers["upload-offset"] == str(KiB)
    assert (await tus.client.post(url, headers=tus.headers(**{"X-HTTP-Method-Override": "PUT"}))).status_code == 405
    deleted = await tus.client.post(url, headers=tus.headers(**{"X-HTTP-Method-Override": "DELETE"}))
    assert deleted.status_code == 204
    assert (await row(url))["status"] == "terminated"


async def test_expired_upload_is_410(tus):
    data = pdf_bytes(10 * KiB)
    url = (await tus.create(data)).headers["location"]
    assert (await tus.patch(url, 0, data[:KiB])).status_code == 204
    await Upload.update({Upload.expires_at: clock.now() - timedelta(seconds=1)}).where(Upload.id == upload_id(url))
    response = await tus.head(url)
    assert response.status_code == 410
    patch = await tus.patch(url, KiB, data[KiB:])
    assert patch.status_code == 410
    assert patch.json()["type"] == "/problems/upload-expired"


async def test_size_limits_per_kind_and_overall(tus, upload_settings):
    data = pdf_bytes(10 * KiB)
    too_big_document = await tus.create(data, length=600 * MiB)
    assert too_big_document.status_code == 413
    assert too_big_document.json()["type"] == "/problems/upload-too-large"
    too_big_video = await tus.create(data, length=upload_settings.tus_max_size + 1, filetype="video/mp4")
    assert too_big_video.status_code == 413
    assert (await tus.create(data, length=0)).status_code == 413


async def test_open_upload_count_per_user(tus, upload_settings):
    data = pdf_bytes(KiB)
    for _ in range(upload_settings.tus_max_open_per_user):
        assert (await tus.create(data)).status_code == 201
    refused = await tus.create(data)
    assert refused.status_code == 429
    assert refused.json()["type"] == "/problems/open-upload-limit"


async def test_another_case_is_not_found(tus, make_person):
    stranger_case = uuid.uuid4()
    data = pdf_bytes(KiB)
    response = await tus.create(data, case_id=str(stranger_case))
    assert response.status_code == 404
    assert await Upload.count() == 0
