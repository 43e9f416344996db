"""R-REC-7 / R-CERT-2: a certificate's history is in the custody hash chain a court verifies."""

from __future__ import annotations

import msgspec
import pytest

from backend.ledger.tables import LedgerRow
from backend.ledger.verify import verify_ledger
from tests.factories import certificate_body

SUSPEND = {
    "reason": "殴打当事人",
    "rule_breached": "过错 Art.11(3)",
    "document_ref": "暂扣决定〔2025〕1号",
    "card_recovered": True,
}


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7", "R-CERT-2", "R-CERT-3")
async def test_suspension_is_chained_in_the_ledger(client, make_person, auth_headers, key_ring):
    admin = await make_person(roles=["admin"])
    officer = await make_person(agency=admin.agency)
    headers = await auth_headers(admin)
    cert = (await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=headers)).json()
    base = f"/api/v1/certificates/{cert['id']}"
    suspended = await client.post(f"{base}/suspend", json=SUSPEND, headers=headers)
    assert suspended.status_code == 200, suspended.text
    [task] = suspended.json()["card_recoveries"]
    step = await client.post(f"{base}/card-recoveries/{task['id']}", json={"step": "handed_over"}, headers=headers)
    assert step.status_code == 200, step.text

    rows = (
        await LedgerRow.select()
        .where((LedgerRow.subject_type == "certificate") & (LedgerRow.subject_id == cert["id"]))
        .order_by(LedgerRow.seq)
    )
    assert [r["event"] for r in rows] == ["certificate.issued", "certificate.suspended", "certificate.card_handed_over"]
    suspension = rows[1]
    assert (suspension["actor_id"], suspension["agency_id"]) == (admin.user.id, admin.principal.agency_id)
    assert suspension["case_id"] is None
    assert msgspec.json.decode(suspension["details"]) == {
        "seq": 2,
        "action": "suspend",
        "from_status": "active",
        "to_status": "suspended",
        "reason": SUSPEND["reason"],
        "rule_breached": SUSPEND["rule_breached"],
        "document_ref": SUSPEND["document_ref"],
        "details": {"until": None, "card_recovered": True},
    }

    # The certificate's own history answers as before, entry for entry with the chain.
    detail = (await client.get(base, headers=headers)).json()
    history = [(e["seq"], e["action"], e["from_status"], e["to_status"]) for e in detail["history"]]
    assert history == [
        (1, "issue", "", "active"),
        (2, "suspend", "active", "suspended"),
        (3, "card_handed_over", "suspended", "suspended"),
    ]
    chained = [msgspec.json.decode(r["details"]) for r in rows]
    assert [(d["seq"], d["action"], d["from_status"], d["to_status"]) for d in chained] == history

    report = await verify_ledger(keys=key_ring, record=False)
    assert report.ok, report
    assert report.entries_checked == len(await LedgerRow.select(LedgerRow.seq))


@pytest.mark.requirement("R-REC-7", "R-CERT-2")
async def test_a_refused_change_leaves_no_ledger_entry(client, make_person, auth_headers):
    admin = await make_person(roles=["admin"])
    officer = await make_person(agency=admin.agency)
    headers = await auth_headers(admin)
    cert = (await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=headers)).json()
    before = await LedgerRow.count()
    reinstate = {"reason": "暂扣期满", "document_ref": "恢复决定〔2025〕3号"}
    refused = await client.post(f"/api/v1/certificates/{cert['id']}/reinstate", json=reinstate, headers=headers)
    assert refused.status_code == 409
    assert await LedgerRow.count() == before
