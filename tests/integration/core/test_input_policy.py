"""The one input policy (issue 15, point 3; defects 3, 4, 5, 11): NUL and control characters,
extreme date-times, deep JSON, JSON under another media type and broken framing are 4xx
problems naming the field — never a 500 — and a refused capture leaves no object behind, on
the file store and on the S3 server."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.di import Provide

from backend.core import clock
from backend.core.errors import DateTimeOutOfRange, InvalidText
from backend.core.inputs import EARLIEST, LATEST, check_datetime_text, check_text
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from evidence import capture
from evidence.schemas import CaptureContext, CaptureDeclaration
from evidence.store import ObjectStore
from evidence.uploads.tables import Upload
from tests import factories as make
from tests.conftest import app_for
from tests.factories import GPS, MOBILE, OFFICE, PASSWORD
from tests.integration.evidence import media_factory
from tests.integration.evidence.helpers import chunks_of
from tests.strategies import hostile_text, instants

# The two date-times of the review: both parse, neither exists in UTC.
LATE = "9999-12-31T23:59:59-14:00"
EARLY = "0001-01-01T00:00:00+14:00"
EXTREMES = [LATE, EARLY]


def _problem(response: Any, status: int, slug: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}", body
    if field is not None:
        assert body.get("field") == field, body
    return body


@pytest.fixture
def app(request: pytest.FixtureRequest, settings: Settings, key_ring: KeyRing) -> Litestar:
    """The file store unless a test asks for ``s3`` (``indirect`` parametrisation)."""
    kind = getattr(request, "param", "files")
    chosen: Settings = settings if kind == "files" else request.getfixturevalue("s3_settings")
    return app_for(chosen, key_ring)


@pytest.fixture
def store(app: Litestar) -> ObjectStore:
    """The app's own store, to count what lies in it."""
    provider = app.dependencies["store"]
    assert isinstance(provider, Provide)
    provided: ObjectStore = provider.dependency()
    return provided


async def _objects(store: ObjectStore) -> tuple[list[str], list[str]]:
    return await store.list_keys(), [u.key for u in await store.list_incomplete_multipart()]


@pytest.fixture
async def f(client: Any) -> make.Field:
    return await make.field_team(client)


# --- strings -------------------------------------------------------------------------------------


async def test_nul_in_login_username_is_422_naming_it(client: Any) -> None:
    response = await client.post("/api/v1/auth/login", json={"username": "wang\x00", "password": PASSWORD})
    body = _problem(response, 422, "invalid-text", "username")
    assert "U+0000" in body["detail"]


async def test_nul_and_control_characters_in_a_case_title(f: make.Field) -> None:
    for title in ("违法占道\x00经营", "bell\x07", "c1\x85"):
        response = await f.client.post(f"{OFFICE}/cases", json=make.case_body(f, title=title), headers=f.h("liu"))
        _problem(response, 422, "invalid-text", "title")
    # Newlines and tabs are text (a legal basis may span lines): not refused by the policy.
    fine = await f.client.post(
        f"{OFFICE}/cases", json=make.case_body(f, legal_basis="《行政处罚法》\n第二十八条\t第一款"), headers=f.h("wang")
    )
    assert fine.status_code == 201, fine.text


async def test_nul_in_a_device_label(f: make.Field) -> None:
    body = {"id": str(uuid.uuid4()), "public_key": base64.b64encode(b"k" * 32).decode(), "label": "Huawei\x00P60"}
    _problem(await f.client.post(f"{MOBILE}/devices", json=body, headers=f.h("wang")), 422, "invalid-text", "label")


async def test_control_characters_in_query_and_path_parameters(f: make.Field) -> None:
    listed = await f.client.get(f"{OFFICE}/cases", params={"q": "a\x00b"}, headers=f.h("liu"))
    _problem(listed, 422, "invalid-text", "q")
    # A key of a JSON object is held to the same rule as its value.
    body = {**make.case_body(f), "bad\x01key": 1}
    _problem(await f.client.post(f"{OFFICE}/cases", json=body, headers=f.h("liu")), 422, "invalid-text", "bad\x01key")


# --- date-times ----------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", EXTREMES)
async def test_extreme_datetimes_at_check_in_and_recording(f: make.Field, moment: str) -> None:
    action = await make.plan_action(f, (await make.open_case(f))["id"])
    check_in = {"id": str(uuid.uuid4()), "device_id": "phone-wang", "device_time": moment, "location": GPS}
    response = await f.client.post(f"{MOBILE}/actions/{action['id']}/check-ins", json=check_in, headers=f.h("wang"))
    _problem(response, 422, "datetime-out-of-range", "device_time")
    session = {"id": str(uuid.uuid4()), "device_id": "phone-wang", "device_time": moment}
    response = await f.client.post(f"{MOBILE}/actions/{action['id']}/recording-sessions", json=session, headers=f.h("wang"))
    _problem(response, 422, "datetime-out-of-range", "device_time")


@pytest.mark.parametrize("moment", EXTREMES)
async def test_extreme_suspension_until(client: Any, make_person: Any, auth_headers: Any, moment: str) -> None:
    admin = await make_person(roles=["admin"])
    officer = await make_person(agency=admin.agency)
    headers = await auth_headers(admin)
    cert = await client.post("/api/v1/certificates", json=make.certificate_body(officer.user.id), headers=headers)
    assert cert.status_code == 201, cert.text
    suspend = {"reason": "殴打当事人", "document_ref": "暂扣决定〔2025〕1号", "until": moment}
    response = await client.post(f"/api/v1/certificates/{cert.json()['id']}/suspend", json=suspend, headers=headers)
    _problem(response, 422, "datetime-out-of-range", "until")


# --- JSON itself ---------------------------------------------------------------------------------


async def test_deeply_nested_json_is_400(client: Any) -> None:
    for body in (b"[" * 100_000, b"[" * 40 + b"1" + b"]" * 40):
        response = await client.post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
        _problem(response, 400, "json-too-deep")


async def test_json_body_size_is_bounded(client: Any, settings: Settings) -> None:
    body = b'{"username": "' + b"w" * settings.json_body_limit + b'", "password": "x"}'
    response = await client.post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
    _problem(response, 413, "payload-too-large")


async def test_json_only_as_application_json(client: Any) -> None:
    body = b'{"username": "wang", "password": "x"}'
    response = await client.post("/api/v1/auth/login", content=body, headers={"Content-Type": "text/plain"})
    _problem(response, 415, "unsupported-media-type", "Content-Type")
    charset = await client.post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json; charset=utf-8"})
    _problem(charset, 401, "unauthorized")  # reached the route: wrong password, not a media-type refusal


async def test_malformed_content_length_is_a_problem(app: Litestar) -> None:
    """uvicorn refuses most broken framing itself (plain text, before the app); what reaches
    the app — a non-numeric or doubled Content-Length — is answered as a problem."""
    for lengths in ([b"12abc"], [b"5", b"7"], [b"-1"]):
        sent: list[dict[str, Any]] = []
        scope: Any = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/auth/login",
            "raw_path": b"/api/v1/auth/login",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json")] + [(b"content-length", v) for v in lengths],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
            "state": {},
        }

        async def receive() -> Any:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: Any, sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        await app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        assert start["status"] == 400, sent
        assert (b"content-type", b"application/problem+json") in start["headers"]
        assert b"/problems/malformed-request" in b"".join(m.get("body", b"") for m in sent)


# --- captures: refused before a byte is stored -----------------------------------------------


def _direct_url(case_id: Any, data: bytes, **extra: str) -> str:
    params = {
        "case_id": str(case_id),
        "kind": "photo",
        "sha256": hashlib.sha256(data).hexdigest(),
        "captured_at": clock.now().isoformat(),
        "device_id": "android-7f3a",
        **extra,
    }
    return f"{MOBILE}/evidence?{urlencode(params)}"


BAD_CAPTURE = [
    ({"filename": "scene\x00.jpg"}, "invalid-text", "filename"),
    ({"device_id": "android\x00"}, "invalid-text", "device_id"),
    ({"captured_at": LATE}, "datetime-out-of-range", "captured_at"),
    ({"captured_at": EARLY}, "datetime-out-of-range", "captured_at"),
]


@pytest.mark.parametrize("app", ["files", "s3"], indirect=True)
@pytest.mark.parametrize(("extra", "slug", "field"), BAD_CAPTURE)
async def test_direct_upload_refuses_bad_metadata_and_stores_nothing(
    client: Any, store: ObjectStore, make_person: Any, auth_headers: Any, extra: dict[str, str], slug: str, field: str
) -> None:
    officer = await make_person(roles=["officer"])
    case = await make.case(officer)
    data = media_factory.jpeg()
    before = await _objects(store)
    response = await client.post(
        _direct_url(case.id, data, **extra),
        content=data,
        headers={**await auth_headers(officer), "Content-Type": "application/octet-stream"},
    )
    _problem(response, 422, slug, field)
    assert await _objects(store) == before


@pytest.mark.parametrize("app", ["files", "s3"], indirect=True)
@pytest.mark.parametrize(("extra", "slug", "field"), BAD_CAPTURE)
async def test_tus_refuses_bad_metadata_and_stores_nothing(
    client: Any, store: ObjectStore, make_person: Any, auth_headers: Any, extra: dict[str, str], slug: str, field: str
) -> None:
    officer = await make_person(roles=["officer"])
    case = await make.case(officer)
    data = b"%PDF-1.4\n" + b"x" * 2048
    values = {
        "filename": "scene.pdf",
        "filetype": "application/pdf",
        "sha256": hashlib.sha256(data).hexdigest(),
        "case_id": str(case.id),
        "captured_at": "2026-05-01T09:30:00+08:00",
        "device_id": "phone-1",
        **extra,
    }
    metadata = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())
    headers = {
        **await auth_headers(officer),
        "Tus-Resumable": "1.0.0",
        "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata,
        "Content-Type": "application/offset+octet-stream",
    }
    before = await _objects(store)
    response = await client.post(f"{MOBILE}/uploads/", headers=headers, content=data)
    _problem(response, 422, slug, field)
    assert await _objects(store) == before
    assert await Upload.count().where(Upload.owner_id == officer.user.id) == 0


@pytest.mark.parametrize("app", ["files", "s3"], indirect=True)
@pytest.mark.parametrize(
    "declared",
    [
        {"captured_at": datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))},
        {"captured_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))},
        {"filename": "a\x00b.jpg"},
        {"device_id": "dev\x1b[31m"},
    ],
)
async def test_capture_service_checks_before_storing(
    store: ObjectStore, settings: Settings, make_person: Any, declared: dict[str, Any]
) -> None:
    """The service itself (a tus row stored before the policy, a CLI, a future route) checks
    first: capture.receive_direct refuses before streaming a byte."""
    officer = await make_person(roles=["officer"])
    data = media_factory.jpeg()
    declaration = CaptureDeclaration(
        sha256=hashlib.sha256(data).hexdigest(),
        kind="photo",
        captured_at=declared.get("captured_at", clock.now()),
        device_id=declared.get("device_id", "device-1"),
        filename=declared.get("filename"),
    )
    context = CaptureContext(
        agency_id=officer.agency.id,
        case_id=uuid.uuid4(),
        officer_id=officer.user.id,
        action_id=None,
        certificate_snapshot_id=str(uuid.uuid4()),
    )
    before = await _objects(store)
    with pytest.raises((InvalidText, DateTimeOutOfRange)) as refused:
        await capture.receive_direct(
            store=store, chunks=chunks_of(data), declared=declaration, context=context, settings=settings
        )
    assert refused.value.field in {"captured_at", "filename", "device_id"}
    assert await _objects(store) == before


# --- hostile input, generated ---------------------------------------------------------------------


def _in_range(moment: datetime) -> bool:
    try:
        return EARLIEST <= moment.astimezone(UTC) <= LATEST
    except OverflowError:
        return False


@given(instants)
def test_datetime_text_rule_matches_the_instant_rule(moment: datetime) -> None:
    for text in (moment.isoformat(), moment.isoformat().replace("+00:00", "Z")):
        if _in_range(moment):
            check_datetime_text(text, field="t")
        else:
            with pytest.raises(DateTimeOutOfRange):
                check_datetime_text(text, field="t")


@given(hostile_text)
def test_text_rule_refuses_exactly_the_forbidden_characters(text: str) -> None:
    forbidden = any((ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in text)
    if forbidden:
        with pytest.raises(InvalidText):
            check_text(text, field="t", multiline=True)
    else:
        check_text(text, field="t", multiline=True)


async def test_hostile_check_ins_never_reach_a_server_error(f: make.Field) -> None:
    """Generated NUL, surrogates, controls and extreme dates into a phone write: always 4xx or 201."""
    action = await make.plan_action(f, (await make.open_case(f))["id"])
    loop = asyncio.get_running_loop()
    url = f"{MOBILE}/actions/{action['id']}/check-ins"

    @hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(device_id=hostile_text, moment=instants)
    def property_(device_id: str, moment: datetime) -> None:
        body = {"id": str(uuid.uuid4()), "device_id": device_id, "device_time": moment.isoformat(), "location": GPS}
        sent = asyncio.run_coroutine_threadsafe(f.client.post(url, json=body, headers=f.h("wang")), loop)
        response = sent.result(timeout=60)
        assert response.status_code < 500, response.text
        if not _in_range(moment):
            assert response.status_code in {400, 422}, response.text

    await asyncio.to_thread(property_)
