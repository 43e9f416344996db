"""Admin listing and search (issue 4 §6): filters, pagination, agency scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backend.core import clock

SUSPEND = {"reason": "涉嫌违纪", "document_ref": "暂扣〔2025〕1号"}


async def _setup(client: Any, make_person: Any, auth_headers: Any, issue_certificate: Any) -> Any:
    admin = await make_person(roles=["admin"])
    now = clock.now()
    made = {}
    plans: dict[str, dict[str, Any]] = {
        "soon": {"valid_until": (now + timedelta(days=10)).isoformat()},
        "later": {"valid_until": (now + timedelta(days=200)).isoformat(), "domains": ["market_supervision"]},
        "gone": {"valid_until": (now + timedelta(days=5)).isoformat()},
        "held": {},
    }
    for name, fields in plans.items():
        officer = await make_person(agency=admin.agency, full_name=f"Officer {name.title()}")
        made[name] = await issue_certificate(officer, admin=admin, number=f"XJ-{name.upper()}", **fields)
    headers = await auth_headers(admin)
    assert (
        await client.post(f"/api/v1/certificates/{made['held'].id}/suspend", json=SUSPEND, headers=headers)
    ).status_code == 200
    return admin, made, headers


async def _numbers(client: Any, headers: Any, **params: Any) -> tuple[list[str], int]:
    response = await client.get("/api/v1/certificates", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["number"] for item in response.json()["items"]], response.json()["total"]


@pytest.mark.both_engines
async def test_filters_by_status_expiry_domain_and_text(client, make_person, auth_headers, issue_certificate):
    _admin, _made, headers = await _setup(client, make_person, auth_headers, issue_certificate)
    assert (await _numbers(client, headers)) == (["XJ-GONE", "XJ-SOON", "XJ-LATER", "XJ-HELD"], 4)
    assert (await _numbers(client, headers, status="suspended")) == (["XJ-HELD"], 1)
    assert (await _numbers(client, headers, expiring_within_days=30)) == (["XJ-GONE", "XJ-SOON"], 2)
    assert (await _numbers(client, headers, domain="market_supervision")) == (["XJ-LATER"], 1)
    assert (await _numbers(client, headers, q="soon")) == (["XJ-SOON"], 1)
    assert (await _numbers(client, headers, q="Officer Later")) == (["XJ-LATER"], 1)
    with clock.frozen_clock(clock.now() + timedelta(days=7)):
        assert (await _numbers(client, headers, status="expired")) == (["XJ-GONE"], 1)
        assert (await _numbers(client, headers, status="active")) == (["XJ-SOON", "XJ-LATER"], 2)
        assert (await _numbers(client, headers, expiring_within_days=30)) == (["XJ-SOON"], 1)


async def test_pagination_and_scope(client, make_person, make_agency, auth_headers, issue_certificate):
    _admin, _made, headers = await _setup(client, make_person, auth_headers, issue_certificate)
    first = await _numbers(client, headers, limit=2, offset=0)
    second = await _numbers(client, headers, limit=2, offset=2)
    assert first == (["XJ-GONE", "XJ-SOON"], 4)
    assert second == (["XJ-LATER", "XJ-HELD"], 4)
    stranger = await auth_headers(await make_person(roles=["admin"]))
    assert (await _numbers(client, stranger)) == ([], 0)
    bureau = await auth_headers(await make_person(roles=["admin"], agency=await make_agency(kind="justice_bureau")))
    assert (await _numbers(client, bureau))[1] == 4
    officer = await auth_headers(await make_person(agency=_admin.agency))
    assert (await client.get("/api/v1/certificates", headers=officer)).status_code == 403


@pytest.mark.parametrize("params", [{"status": "lost"}, {"limit": 0}, {"limit": 1000}, {"expiring_within_days": -1}])
async def test_bad_filters_are_400(client, make_person, auth_headers, params):
    headers = await auth_headers(await make_person(roles=["admin"]))
    response = await client.get("/api/v1/certificates", params=params, headers=headers)
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/validation-error"
