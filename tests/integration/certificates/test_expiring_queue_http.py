"""The admin's queue of certificates expiring within 30 days (issue 14, point 5; R-CERT-2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backend.core import clock

QUEUE = "/api/v1/queues/certificates-expiring"
SUSPEND = {"reason": "涉嫌违纪", "document_ref": "暂扣〔2025〕1号"}


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-2")
async def test_admin_lists_active_certificates_ending_within_30_days_soonest_first(
    client: Any, make_person: Any, auth_headers: Any, issue_certificate: Any
) -> None:
    admin = await make_person(roles=["admin"])
    now = clock.now()
    made: dict[str, Any] = {}
    holders: dict[str, Any] = {}
    for name, days in (("later", 200), ("d20", 20), ("d3", 3), ("d31", 31), ("held", 8)):
        holders[name] = await make_person(agency=admin.agency, full_name=f"持证人{name}")
        made[name] = await issue_certificate(
            holders[name], admin=admin, number=f"XJ-{name.upper()}", valid_until=(now + timedelta(days=days)).isoformat()
        )
    headers = await auth_headers(admin)
    suspended = await client.post(f"/api/v1/certificates/{made['held'].id}/suspend", json=SUSPEND, headers=headers)
    assert suspended.status_code == 200, suspended.text
    queue = (await client.get(QUEUE, headers=headers)).json()
    assert [i["number"] for i in queue["items"]] == ["XJ-D3", "XJ-D20"]
    assert (queue["total"], queue["within_days"]) == (2, 30)
    first = queue["items"][0]
    assert (first["certificate_id"], first["holder_id"]) == (str(made["d3"].id), str(holders["d3"].user.id))
    assert (first["holder_name"], first["holder_role"], first["days_left"]) == ("持证人d3", "officer", 3)
    page = (await client.get(QUEUE, params={"limit": 1, "offset": 1}, headers=headers)).json()
    assert [i["number"] for i in page["items"]] == ["XJ-D20"]
    # Another agency's admin sees none of them; an officer reads no queue of certificates.
    stranger = await make_person(roles=["admin"])
    assert (await client.get(QUEUE, headers=await auth_headers(stranger))).json()["total"] == 0
    officer = await auth_headers(holders["d3"])
    assert (await client.get(QUEUE, headers=officer)).status_code == 403
