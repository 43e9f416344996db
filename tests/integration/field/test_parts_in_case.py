"""A write on a case needs a part in it; overseers read across agencies, ledgered with why
(issue 14: Found 1, 2, 5 and 14; backend/core/access.py, backend/field/relations.py)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from backend.core import clock
from backend.ledger.tables import LedgerRow
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from tests import factories as make
from tests.factories import OFFICE, Field, document_photo, field_team, open_case, plan_action


@pytest.fixture
async def f(client: Any) -> Field:
    team = await field_team(client)
    await team.join("sun")  # an officer of the agency who handles none of its cases
    return team


def _slug(response: Any) -> str:
    return str(response.json()["type"]).rpartition("/")[2]


async def test_an_officer_without_a_part_in_the_case_changes_nothing_of_it(f: Field) -> None:
    """Found 1: records, stages (up to archived), the coercion reason, participants and
    coverage reports were open to every officer of the agency."""
    case = await open_case(f)
    action = await plan_action(f, case["id"])
    attempts = [
        (f"{OFFICE}/cases/{case['id']}/records", {"kind": "document", "title": "立案审批表", "evidence_id": str(uuid.uuid4())}),
        (f"{OFFICE}/cases/{case['id']}/stage", {"to_stage": "investigation"}),
        (f"{OFFICE}/actions/{action['id']}/coercion-reason", {"reason": "当事人拒不停止违法行为"}),
        (f"{OFFICE}/actions/{action['id']}/participants", {"user_id": f.uid("qian")}),
        (f"{OFFICE}/actions/{action['id']}/coverage/reports", None),
    ]
    for path, body in attempts:
        refused = await f.client.post(path, json=body, headers=f.h("sun"))
        assert refused.status_code == 403, (path, refused.text)
        assert _slug(refused) == "not-assigned", path
    # The case is as it was, and its handler still files and moves it.
    assert (await f.client.get(f"{OFFICE}/cases/{case['id']}", headers=f.h("wang"))).json()["stage"] == "initiation"
    evidence_id = await document_photo(f.people["wang"], uuid.UUID(case["id"]), title="立案审批表")
    filed = await f.client.post(
        f"{OFFICE}/cases/{case['id']}/records",
        json={"kind": "document", "title": "立案审批表", "evidence_id": str(evidence_id)},
        headers=f.h("wang"),
    )
    assert filed.status_code == 201, filed.text
    reason = await f.client.post(
        f"{OFFICE}/actions/{action['id']}/coercion-reason", json={"reason": "当事人拒不停止违法行为"}, headers=f.h("wang")
    )
    assert reason.status_code == 200, reason.text


async def test_another_agencys_officer_learns_nothing_of_the_case(f: Field) -> None:
    case = await open_case(f)
    stranger = await make.person(["officer", "supervisor"])
    headers = make.bearer(f.client.app, stranger)
    for path in (f"{OFFICE}/cases/{case['id']}", f"{OFFICE}/cases/{case['id']}/records"):
        assert (await f.client.get(path, headers=headers)).status_code == 404, path
    written = await f.client.post(
        f"{OFFICE}/cases/{case['id']}/records",
        json={"kind": "document", "title": "x", "evidence_id": str(uuid.uuid4())},
        headers=headers,
    )
    assert written.status_code == 404


async def test_a_record_names_only_evidence_of_its_own_case(f: Field) -> None:
    """Found 5: another agency's capture could be attached to a case record."""
    case = await open_case(f)
    other = await field_team(f.client)
    other_case = await open_case(other)
    foreign_evidence = await document_photo(other.people["wang"], uuid.UUID(other_case["id"]), title="他案照片")
    second_case = await open_case(f)
    own_other_case = await document_photo(f.people["wang"], uuid.UUID(second_case["id"]), title="本局他案照片")
    for evidence_id in (foreign_evidence, own_other_case, uuid.uuid4()):
        refused = await f.client.post(
            f"{OFFICE}/cases/{case['id']}/records",
            json={"kind": "document", "title": "现场照片", "evidence_id": str(evidence_id)},
            headers=f.h("wang"),
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "evidence_id"


async def test_the_justice_bureau_administers_only_its_own_agency(f: Field) -> None:
    """Found 2: the Justice Bureau's admin changed roles in, and planted an admin in, another agency."""
    bureau = await make.agency(kind="justice_bureau")
    justice = await make.person(["admin"], bureau)
    headers = make.bearer(f.client.app, justice)
    wang = f.uid("wang")
    promoted = await f.client.patch(f"{OFFICE}/users/{wang}", json={"roles": ["officer", "admin"]}, headers=headers)
    assert promoted.status_code == 404, promoted.text
    planted = await f.client.post(
        f"{OFFICE}/users",
        json={
            "username": f"plant-{uuid.uuid4().hex[:8]}",
            "password": make.PASSWORD,
            "full_name": "冒名管理员",
            "roles": ["admin"],
            "agency_id": str(f.agency.id),
        },
        headers=headers,
    )
    assert planted.status_code == 404, planted.text
    assert (await f.client.get(f"{OFFICE}/users/{wang}", headers=headers)).status_code == 404
    assert (await f.client.get(f"{OFFICE}/me", headers=f.h("wang"))).json()["roles"] == ["officer"]
    # Its registry power stays: it registers agencies.
    registered = await f.client.post(f"{OFFICE}/agencies", json=msgspec.to_builtins(make.AgencyBody.build()), headers=headers)
    assert registered.status_code == 201, registered.text


async def _oversight_reads(case_id: str) -> list[dict[str, Any]]:
    rows = await LedgerRow.select(LedgerRow.event, LedgerRow.agency_id, LedgerRow.details).where(
        (LedgerRow.case_id == uuid.UUID(case_id)) & (LedgerRow.event == "oversight.read")
    )
    return [{**row, "details": msgspec.json.decode(row["details"])} for row in rows]


@pytest.mark.requirement("R-SUP-2")
async def test_the_justice_bureau_reads_every_agencys_case_and_the_read_is_ledgered_with_its_purpose(f: Field) -> None:
    case = await open_case(f)
    bureau = await make.agency(kind="justice_bureau")
    justice = await make.person(["admin"], bureau)
    headers = make.bearer(f.client.app, justice)
    read = await f.client.get(f"{OFFICE}/cases/{case['id']}", params={"purpose": "案卷评查"}, headers=headers)
    assert read.status_code == 200, read.text
    chain = await f.client.get(f"{OFFICE}/cases/{case['id']}/evidence-chain", headers=headers)
    assert chain.status_code == 200, chain.text
    listed = await f.client.get(f"{OFFICE}/cases", params={"agency_id": str(f.agency.id)}, headers=headers)
    assert [c["id"] for c in listed.json()] == [case["id"]]
    reads = await _oversight_reads(case["id"])
    assert [r["details"]["purpose"] for r in reads][:1] == ["案卷评查"]
    assert len(reads) == 2
    assert all(r["agency_id"] == bureau.id for r in reads)
    # Read-only: a write is refused as if the case were not there.
    written = await f.client.post(
        f"{OFFICE}/cases/{case['id']}/records",
        json={"kind": "document", "title": "x", "evidence_id": str(uuid.uuid4())},
        headers=headers,
    )
    assert written.status_code == 404


@pytest.mark.requirement("R-AGY-6")
async def test_the_entrusting_agency_reads_the_cases_under_its_entrustments_only(client: Any) -> None:
    entruster_agency = await make.agency(matters=[*make.MATTERS, "illegal_land_use"])
    entruster = await make.person(["admin"], entruster_agency)
    team = await field_team(client)
    fields = {
        "entrusted_agency_id": str(team.agency.id),
        "legal_basis": "行政处罚法 第二十条",
        "matters": ["illegal_land_use"],
        "domains": ["urban_management"],
        "action_kinds": ["inspection"],
        "valid_from": clock.now().isoformat(),
        "valid_until": clock.now().replace(year=clock.now().year + 1).isoformat(),
        "letter_ref": "新自然资委〔2026〕1号",
    }
    known = set(org_schemas.EntrustmentIn.__struct_fields__)
    data = msgspec.convert({k: v for k, v in fields.items() if k in known}, org_schemas.EntrustmentIn)
    await org_service.create_entrustment(principal=entruster.principal, data=data)
    entrusted = await open_case(team, matter="illegal_land_use", domain="urban_management")
    own = await open_case(team)
    headers = make.bearer(client.app, entruster)
    read = await client.get(f"{OFFICE}/cases/{entrusted['id']}", headers=headers)
    assert read.status_code == 200, read.text
    assert (await client.get(f"{OFFICE}/cases/{entrusted['id']}/actions", headers=headers)).status_code == 200
    assert (await client.get(f"{OFFICE}/cases/{own['id']}", headers=headers)).status_code == 404
    listed = await client.get(f"{OFFICE}/cases", params={"agency_id": str(team.agency.id)}, headers=headers)
    assert [c["id"] for c in listed.json()] == [entrusted["id"]]
    reads = await _oversight_reads(entrusted["id"])
    assert len(reads) == 2
    assert {r["details"]["purpose"] for r in reads} == {"监督检查"}  # the rule's purpose
    refused = await client.post(f"{OFFICE}/cases/{entrusted['id']}/stage", json={"to_stage": "investigation"}, headers=headers)
    assert refused.status_code == 404


async def test_an_officer_removed_from_the_case_loses_the_part(f: Field) -> None:
    """Found 1: an officer removed from a case kept changing it."""
    case = await open_case(f)
    removed = await f.client.post(
        f"{OFFICE}/cases/{case['id']}/officers/{f.uid('qian')}/removal", json={"reason": "工作调整，改派他人"}, headers=f.h("liu")
    )
    assert removed.status_code == 200, removed.text
    for path, body in (
        (f"{OFFICE}/cases/{case['id']}/records", {"kind": "document", "title": "询问笔录", "evidence_id": str(uuid.uuid4())}),
        (f"{OFFICE}/cases/{case['id']}/stage", {"to_stage": "investigation"}),
    ):
        refused = await f.client.post(path, json=body, headers=f.h("qian"))
        assert refused.status_code == 403, (path, refused.text)
        assert _slug(refused) == "not-assigned"
