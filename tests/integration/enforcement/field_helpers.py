"""Helpers for field-workflow tests: an agency with certified officers, cases and actions via HTTP."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from backend.core import clock
from backend.core.auth import TokenIssuer
from backend.org import service as org_service
from backend.org.tables import User
from certificates import issuing as certificate_issuing
from certificates import schemas as certificate_schemas
from tests.conftest import Person

MOBILE = "/api/mobile/v1"
OFFICE = "/api/v1"
GPS = {"latitude": 35.6123, "longitude": 111.2234, "accuracy_m": 12.0}


@dataclass
class Field:
    client: Any
    agency: Any
    people: dict[str, Any]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def h(self, name: str) -> dict[str, str]:
        return self.headers[name]

    def uid(self, name: str) -> str:
        return str(self.people[name].user.id)


async def issue_certificate(holder: Any, admin: Any, *, domains: list[str] | None = None) -> None:
    now = clock.now()
    body = {
        "number": f"GZ-{uuid.uuid4().hex[:10]}",
        "holder_id": str(holder.user.id),
        "domains": domains or ["market_supervision", "urban_management"],
        "valid_from": (now - timedelta(days=30)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "qualification_review_ref": "资格审查〔2025〕12号",
        "exam": {"exam_id": "EX-2025-07", "exam_date": "2025-07-01", "score": 86, "pass_mark": 60, "passed": True},
        "document_ref": "发证决定〔2025〕3号",
    }
    data = msgspec.convert(body, certificate_schemas.CertificateIn)
    await certificate_issuing.issue(principal=admin.principal, data=data)


async def quick_person(agency: Any, *, roles: tuple[str, ...] = ("officer",)) -> Person:
    """A user inserted directly (no password hashing: these tests never log in by password)."""
    username = f"u-{uuid.uuid4().hex[:10]}"
    user_id = uuid.uuid4()
    await User.insert(
        User(
            id=user_id,
            username=username,
            password_hash="!",
            full_name=username,
            agency=agency.id,
            roles=list(roles),
            created_at=clock.now(),
        )
    )
    user = await org_service.get_user(principal=None, user_id=user_id)
    return Person(user=user, agency=agency, username=username)


def token_headers(app: Any, person: Person) -> dict[str, str]:
    """A real access token from the app's own key ring (what login would hand out)."""
    issuer: TokenIssuer = app.dependencies["issuer"].dependency()
    return {"Authorization": f"Bearer {issuer.issue(person.principal)}"}


async def setup_field(client: Any, make_agency: Any, **agency_fields: Any) -> Field:
    """王 (lead), 李, 赵 and 钱 (officers, all certified), supervisor 刘, admin 周."""
    agency = await make_agency(**agency_fields)
    people = {name: await quick_person(agency) for name in ("wang", "li", "zhao", "qian")}
    people["liu"] = await quick_person(agency, roles=("supervisor",))
    people["zhou"] = await quick_person(agency, roles=("admin",))
    for name in ("wang", "li", "zhao", "qian"):
        await issue_certificate(people[name], people["zhou"])
    result = Field(client=client, agency=agency, people=people)
    for name, person in people.items():
        result.headers[name] = token_headers(client.app, person)
    return result


def case_body(
    f: Field, *, lead: str = "wang", assisting: tuple[str, ...] = ("li", "zhao", "qian"), **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "coercion",
        "title": "假冒商品扣押",
        "matter": "food_safety",
        "domain": "market_supervision",
        "legal_basis": "《行政强制法》第二十二条；《食品安全法》第一百一十条",
        "party": {"kind": "person", "name": "张三", "id_number": "140826199001011234"},
        "location": "新绛县龙兴镇某商店",
        "officers": [{"user_id": f.uid(lead), "role": "lead"}] + [{"user_id": f.uid(n), "role": "assisting"} for n in assisting],
    }
    body.update(extra)
    return body


async def open_case(f: Field, **kwargs: Any) -> dict[str, Any]:
    response = await f.client.post(f"{OFFICE}/cases", json=case_body(f, **kwargs), headers=f.h("liu"))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def plan_action(
    f: Field, case_id: str, *, kind: str = "impound", participants: tuple[str, ...] = ("wang", "li", "zhao"), **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "case_id": case_id,
        "kind": kind,
        "title": "扣押假冒商品",
        "planned_at": clock.now().isoformat(),
        "planned_place": "某商店",
        "participant_ids": [f.uid(n) for n in participants],
    }
    body.update(extra)
    response = await f.client.post(f"{OFFICE}/actions", json=body, headers=f.h("liu"))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def check_in(f: Field, name: str, action_id: str, *, check_in_id: str | None = None) -> Any:
    body = {
        "id": check_in_id or str(uuid.uuid4()),
        "device_id": f"phone-{name}",
        "device_time": clock.now().isoformat(),
        "location": GPS,
    }
    return await f.client.post(f"{MOBILE}/actions/{action_id}/check-ins", json=body, headers=f.h(name))


async def declare(f: Field, name: str, action_id: str, *, ground: str | None = None) -> Any:
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "conflict": ground is not None, "device_time": clock.now().isoformat()}
    if ground:
        body["ground"] = ground
        body["statement"] = "当事人系本人表兄"
    return await f.client.post(f"{MOBILE}/actions/{action_id}/recusals", json=body, headers=f.h(name))


def stamp() -> dict[str, Any]:
    return {"device_time": clock.now().isoformat(), "location": GPS}


async def upload_video(f: Field, name: str, case_id: str, action_id: str, data: bytes, *, captured_at: datetime) -> Any:
    params = {
        "case_id": case_id,
        "action_id": action_id,
        "kind": "video",
        "sha256": hashlib.sha256(data).hexdigest(),
        "captured_at": captured_at.astimezone(UTC).isoformat(),
        "device_id": f"phone-{name}",
    }
    return await f.client.post(
        f"{MOBILE}/evidence", params=params, content=data, headers={**f.h(name), "Content-Type": "video/mp4"}
    )


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["type"] == f"/problems/{slug}", body
    return body
