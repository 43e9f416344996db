"""A small agency for decision tests: people, a legal-review unit, a published benchmark,
a major-decision catalog, and a case in review & decision with a real captured receipt.

Scenario 4 cast: 王 (lead investigator), 李 (assisting), 孙 (legal reviewer with the
national qualification), 刘 (supervisor who approves), 周 (admin).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image

from backend.core import clock
from backend.core.auth import TokenIssuer
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from tests import factories as make

YUAN = 100
SALT = b"d" * 32


def benchmark_body(*, tiers: int = 3, matter: str = "food_safety") -> dict[str, Any]:
    bounds = [(50_000, 100_000), (100_000, 300_000), (300_000, 500_000)][:tiers]
    return {
        "matter": matter,
        "title": "食品安全行政处罚裁量基准",
        "adopting_document": "新市监发〔2026〕3号",
        "effective_from": "2026-01-01",
        "items": [
            {
                "code": "food-unsafe-sale",
                "name": "经营不符合食品安全标准的食品",
                "violated_provision": "食品安全法 第三十四条",
                "penalty_provision": "食品安全法 第一百二十四条",
                "penalty_kinds": [
                    {"kind": "fine", "condition": "any sale of unsafe food"},
                    {"kind": "confiscate_gains", "condition": "illegal gains established"},
                    {"kind": "licence_revocation", "condition": "serious circumstances"},
                ],
                "fine_range": {"min_fen": 50_000 * YUAN, "max_fen": 500_000 * YUAN},
                "tiers": [
                    {
                        "code": f"t{i + 1}",
                        "name": ["轻微", "一般", "严重"][i],
                        "criteria": f"tier {i + 1} criteria",
                        "factors": [f"f{i + 1}"],
                        "penalty_kinds": ["fine", "confiscate_gains"] + (["licence_revocation"] if i == 2 else []),
                        "fine_min_fen": low * YUAN,
                        "fine_max_fen": high * YUAN,
                    }
                    for i, (low, high) in enumerate(bounds)
                ],
                "factors": [
                    {"code": "f1", "text": "small quantity, first time"},
                    {"code": "f2", "text": "quantity sold between 1,000 and 10,000 units"},
                    {"code": "f3", "text": "quantity above 10,000 units or harm caused"},
                ],
                "no_penalty": [{"code": "np1", "text": "minor, corrected at once, no harm"}],
                "lighter": [{"code": "l1", "text": "cooperated actively"}],
                "mitigated": [{"code": "m1", "text": "coerced by others"}],
                "heavier": [{"code": "h1", "text": "repeat offence within a year"}],
            }
        ],
    }


def draft_body(
    benchmark_id: str, *, amount_yuan: int = 200_000, circumstances: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "benchmark_id": benchmark_id,
        "item_code": "food-unsafe-sale",
        "circumstances": circumstances if circumstances is not None else ["f2"],
        "penalties": [{"kind": "fine", "amount_fen": amount_yuan * YUAN}],
        "facts": "当事人销售不符合食品安全标准的熟食 5,000 份。",
        "reasons": "违反食品安全法第三十四条。",
        "legal_basis": "食品安全法 第一百二十四条第一款",
        **extra,
    }


def jpeg_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (seed % 256, 80, 120)).save(buffer, format="JPEG")
    return buffer.getvalue()


Headers = dict[str, str]


def slug(response: Any) -> str:
    return response.json()["type"].removeprefix("/problems/")


def missing(response: Any, blocked: str = "decision-issue-blocked") -> dict[str, dict[str, Any]]:
    """The conditions a listed 409 names, by code (issue 14, Found 12: all in one answer)."""
    assert response.status_code == 409, response.text
    assert slug(response) == blocked
    return {m["code"]: m for m in response.json()["missing"]}


@dataclass
class Office:
    client: AsyncTestClient[Litestar]
    agency: org_schemas.AgencyOut
    people: dict[str, Any]
    headers: dict[str, Headers]
    benchmark_id: str
    case_id: uuid.UUID
    receipt_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    async def call(self, method: str, who: str, path: str, body: Any = None) -> Any:
        return await self.client.request(method, path, json=body, headers=self.headers[who])

    async def draft(self, who: str = "wang", **kwargs: Any) -> Any:
        return await self.call("POST", who, f"/api/v1/cases/{self.case_id}/decisions", draft_body(self.benchmark_id, **kwargs))

    async def serve_and_waive(self, decision_id: str) -> None:
        assert (await self.call("POST", "wang", f"/api/v1/decisions/{decision_id}/notice", {})).status_code == 201
        served = await self.call(
            "POST",
            "wang",
            f"/api/v1/decisions/{decision_id}/notice/service",
            {"served_at": clock.now().isoformat(), "method": "direct", "recipient": "张三", "proof_evidence_id": self.receipt_id},
        )
        assert served.status_code == 200, served.text
        waived = await self.call(
            "POST", "wang", f"/api/v1/decisions/{decision_id}/notice/waiver", {"waiver_evidence_id": self.receipt_id}
        )
        assert waived.status_code == 200, waived.text

    async def declare(self, who: str, capacity: str, case_id: uuid.UUID | None = None, **fields: Any) -> Any:
        """The person's own case-level declaration on the three grounds (R-RCS-2/3)."""
        body = {"capacity": capacity, "conflict": False, "statement": "无回避情形", **fields}
        response = await self.call("POST", who, f"/api/v1/cases/{case_id or self.case_id}/decision-declarations", body)
        assert response.status_code == 201, response.text
        return response

    async def declare_all(self, case_id: uuid.UUID | None = None) -> None:
        for who, capacity in (("wang", "handler"), ("li", "handler"), ("sun", "reviewer"), ("liu", "approver")):
            await self.declare(who, capacity, case_id)

    async def review(self, decision_id: str, sha: str, outcome: str = "passed", who: str = "sun") -> Any:
        body = {"draft_sha256": sha, "outcome": outcome, "opinion": f"审核意见: {outcome}"}
        return await self.call("POST", who, f"/api/v1/decisions/{decision_id}/reviews", body)

    async def issue(self, decision_id: str, sha: str, who: str = "liu", number: str = "新市监罚〔2026〕17号") -> Any:
        body = {"decision_no": number, "draft_sha256": sha}
        return await self.call("POST", who, f"/api/v1/decisions/{decision_id}/issue", body)


async def upload_receipt(client: AsyncTestClient[Litestar], headers: Headers, case_id: uuid.UUID, seed: int | None = None) -> str:
    """The signed receipt (or another photo: ``seed``) uploaded through the real phone route."""
    data = jpeg_bytes(int(case_id.int % 200) if seed is None else seed)
    params = {
        "case_id": str(case_id),
        "kind": "photo",
        "sha256": hashlib.sha256(data).hexdigest(),
        "captured_at": datetime.now(UTC).isoformat(),
        "device_id": "phone-wang",
    }
    response = await client.post(
        "/api/mobile/v1/evidence", params=params, content=data, headers={**headers, "Content-Type": "image/jpeg"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["evidence_id"])


# Scenario 4's case (tests/factories.py ``case``): a food-safety penalty case against a
# restaurant company, handled by 王 and 李, in review & decision where drafts are made.
CASE_IN_REVIEW: dict[str, Any] = {
    "party": {"kind": "organisation", "name": "某餐饮有限公司"},
    "stage": "review_decision",
    "id_salt": SALT,
}


MakeOffice = Callable[..., Awaitable[Office]]


@pytest.fixture
def auth_headers(settings: Settings, key_ring: KeyRing) -> Callable[[Any], Awaitable[Headers]]:
    """Tokens straight from the server's issuer: the login route (argon2) is tested elsewhere."""
    issuer = TokenIssuer(key_ring, issuer=settings.issuer, audience=settings.audience, ttl_s=settings.access_token_ttl_s)

    async def headers(person: Any) -> Headers:
        return {"Authorization": f"Bearer {issuer.issue(person.principal)}"}

    return headers


@pytest.fixture
def make_office(client: AsyncTestClient[Litestar], make_agency: Any, make_person: Any, auth_headers: Any) -> MakeOffice:
    async def factory(separation_mode: str = "block", threshold_yuan: int = 100_000) -> Office:
        agency = await make_agency(separation_mode=separation_mode)
        people = {
            "wang": await make_person(roles=["officer", "supervisor"], agency=agency),
            "li": await make_person(roles=["officer"], agency=agency),
            "sun": await make_person(roles=["legal_reviewer"], agency=agency),
            "liu": await make_person(roles=["supervisor"], agency=agency),
            "zhou": await make_person(roles=["admin"], agency=agency),
        }
        headers = {name: await auth_headers(person) for name, person in people.items()}
        zhou = people["zhou"].principal
        unit = await org_service.create_unit(principal=zhou, data=org_schemas.UnitIn(name="法制审核科", kind="legal_review"))
        designated = await client.post(
            "/api/v1/legal-reviewers",
            json={"user_id": str(people["sun"].user.id), "unit_id": str(unit.id)},
            headers=headers["zhou"],
        )
        assert designated.status_code == 201, designated.text
        created = await client.post("/api/v1/benchmarks", json=benchmark_body(), headers=headers["zhou"])
        assert created.status_code == 201, created.text
        benchmark_id = created.json()["id"]
        published = await client.post(f"/api/v1/benchmarks/{benchmark_id}/publish", headers=headers["zhou"])
        assert published.status_code == 200, published.text
        entry = {
            "category": "large_fine",
            "penalties": [{"kind": "fine", "threshold_fen": threshold_yuan * YUAN}],
            "legal_basis": "责任制 Art.20(1)",
        }
        assert (await client.post("/api/v1/major-catalog", json=entry, headers=headers["zhou"])).status_code == 201
        case_id = (await make.case(people["wang"], people["li"], **CASE_IN_REVIEW)).id
        receipt_id = await upload_receipt(client, headers["wang"], case_id)
        office = Office(client, agency, people, headers, benchmark_id, case_id, receipt_id)
        office.extra["unit_id"] = unit.id
        await office.declare_all()
        return office

    return factory
