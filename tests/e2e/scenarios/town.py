"""新绛县 over HTTP: a real ``fieldproof serve`` process on the demo data, and the people of
the scenarios as its clients (httpx for the office and phone routes, tuspy for video).

Only the server clock counts: every device time the phones send is the test machine's clock,
which is the server's (same host).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from tusclient import client as tus_client

from backend.demo import DEMO_PASSWORD
from tests.integration.evidence.media_factory import jpeg as exif_jpeg

OFFICE = "/api/v1"
MOBILE = "/api/mobile/v1"
# The restaurant on 府东街 in 龙兴镇, as the phones' GPS reports it (± 15 m).
GPS = {"latitude": 35.6163, "longitude": 111.2251, "accuracy_m": 15.0}


def now() -> datetime:
    return datetime.now(UTC)


def stamp() -> dict[str, Any]:
    """What the phone sends with a transition: its clock and where it is."""
    return {"device_time": now().isoformat(), "location": GPS}


def slug(response: httpx.Response) -> str:
    return str(response.json().get("type", "")).removeprefix("/problems/")


def problem(response: httpx.Response, status: int, expected_slug: str) -> dict[str, Any]:
    """The answer is problem+json with this status and slug; its body."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{expected_slug}", body
    return body


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json()


@dataclass
class Person:
    """One demo user signed in to the server (the password of every demo user)."""

    town: Town
    username: str
    token: str
    user_id: str
    full_name: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return self.town.http.request(method, path, headers={**self.auth, **(headers or {})}, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=json, **kwargs)

    # --- the phone -------------------------------------------------------------------------

    def check_in(self, action_id: str) -> httpx.Response:
        body = {"id": str(uuid.uuid4()), "device_id": self.device, "device_time": now().isoformat(), "location": GPS}
        return self.post(f"{MOBILE}/actions/{action_id}/check-ins", body)

    def declare(self, action_id: str, *, ground: str | None = None, statement: str = "") -> httpx.Response:
        """The participant's recusal declaration for the action: no conflict, or ``ground``."""
        body: dict[str, Any] = {"id": str(uuid.uuid4()), "conflict": ground is not None, "device_time": now().isoformat()}
        if ground is not None:
            body |= {"ground": ground, "statement": statement}
        return self.post(f"{MOBILE}/actions/{action_id}/recusals", body)

    def show_certificate(self, action_id: str, evidence_id: str | None = None) -> httpx.Response:
        """R-CERT-5: the officer records showing the certificate verified at check-in."""
        body = {"id": str(uuid.uuid4()), "device_time": now().isoformat(), "evidence_id": evidence_id}
        return self.post(f"{MOBILE}/actions/{action_id}/certificate-shown", body)

    def transition(self, action_id: str, to: str) -> httpx.Response:
        return self.post(f"{MOBILE}/actions/{action_id}/{to}", stamp())

    @property
    def device(self) -> str:
        return f"phone-{self.username}"

    def capture_request(
        self,
        case_id: str,
        data: bytes,
        *,
        kind: str,
        media_type: str,
        action_id: str | None = None,
        captured_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Request:
        """A small capture straight from the phone (``POST /evidence``, raw body), not yet sent."""
        params: dict[str, Any] = {
            "case_id": case_id,
            "kind": kind,
            "sha256": hashlib.sha256(data).hexdigest(),
            "captured_at": (captured_at or now()).isoformat(),
            "device_id": self.device,
            "lat": GPS["latitude"],
            "lon": GPS["longitude"],
            "sent_at": now().isoformat(),
        }
        if action_id is not None:
            params["action_id"] = action_id
        headers = {**self.auth, "Content-Type": media_type, "Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        return self.town.http.build_request("POST", f"{MOBILE}/evidence", params=params, content=data, headers=headers)

    def capture(self, case_id: str, data: bytes, **kwargs: Any) -> httpx.Response:
        return self.town.http.send(self.capture_request(case_id, data, **kwargs))

    def upload_video(self, tmp: Path, case_id: str, action_id: str, data: bytes, *, captured_at: datetime) -> str:
        """A video over tus with the tuspy client (chunks of 64 KiB), as the phone uploads it; the
        upload's URL."""
        path = tmp / f"{uuid.uuid4().hex}.mp4"
        path.write_bytes(data)
        metadata = {
            "filename": path.name,
            "filetype": "video/mp4",
            "sha256": hashlib.sha256(data).hexdigest(),
            "case_id": case_id,
            "action_id": action_id,
            "captured_at": captured_at.isoformat(),
            "device_id": self.device,
        }
        client = tus_client.TusClient(self.town.url + f"{MOBILE}/uploads/", headers=self.auth)
        uploader = client.uploader(file_path=str(path), chunk_size=64 * 1024, metadata=metadata, upload_checksum=True)
        uploader.upload()
        assert uploader.url is not None
        return str(uploader.url)


@dataclass
class Town:
    url: str
    http: httpx.Client
    people: dict[str, Person] = field(default_factory=dict)

    def __getitem__(self, username: str) -> Person:
        """The demo user, signed in over ``/auth/login`` on first use."""
        if username not in self.people:
            signed = ok(self.http.post(f"{OFFICE}/auth/login", json={"username": username, "password": DEMO_PASSWORD}))
            token = signed["access_token"]
            me = ok(self.http.get(f"{OFFICE}/me", headers={"Authorization": f"Bearer {token}"}))
            self.people[username] = Person(self, username, token, str(me["id"]), str(me["full_name"]))
        return self.people[username]

    def public(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)


def jpeg(label: str, *, taken: datetime | None = None) -> bytes:
    """A phone photo with EXIF time (local, +08:00) and GPS (tests/integration/evidence/media_factory)."""
    local = (taken or now()).astimezone(ZoneInfo("Asia/Shanghai"))
    colour = "#" + hashlib.sha256(label.encode()).hexdigest()[:6]
    return exif_jpeg(
        taken=local.strftime("%Y:%m:%d %H:%M:%S"), offset="+08:00", gps=(GPS["latitude"], GPS["longitude"]), color=colour
    )
