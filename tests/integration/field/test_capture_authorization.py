"""authorize_capture: the one gate for attaching evidence to a case or action."""

from __future__ import annotations

import uuid

import pytest

from backend.core.errors import Conflict, NotFound
from backend.field import cases as service
from backend.field.tables import Case
from tests import factories as make

SALT = b"s" * 32


@pytest.mark.both_engines
async def test_assigned_officer_gets_context_with_acting_agency(make_person):
    officer = await make_person()
    case = await make.case(officer)
    context = await service.authorize_capture(principal=officer.principal, case_id=case.id, action_id=None)
    assert context.case_id == case.id
    assert context.agency_id == officer.agency.id
    assert context.officer_id == officer.user.id
    assert context.action_id is None
    assert context.certificate_snapshot_id is None


@pytest.mark.both_engines
async def test_other_agency_and_unassigned_officer_get_not_found(make_person):
    officer = await make_person()
    colleague = await make_person(agency=officer.agency)
    stranger = await make_person()
    case = await make.case(officer)
    with pytest.raises(NotFound):
        await service.authorize_capture(principal=stranger.principal, case_id=case.id, action_id=None)
    with pytest.raises(NotFound):
        await service.authorize_capture(principal=colleague.principal, case_id=case.id, action_id=None)
    with pytest.raises(NotFound):
        await service.authorize_capture(principal=officer.principal, case_id=case.id, action_id=uuid.uuid4())


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-6")
async def test_archived_case_refuses_captures(make_person):
    officer = await make_person()
    case = await make.case(officer)
    await Case.update({Case.stage: "archived"}).where(Case.id == case.id)
    with pytest.raises(Conflict):
        await service.authorize_capture(principal=officer.principal, case_id=case.id, action_id=None)


async def test_party_identity_number_is_minimised(make_person):
    officer = await make_person()
    party = {"kind": "person", "name": "张三", "id_number": "140826199001011234"}
    case = await make.case(officer, party=party, id_salt=SALT)
    row = await Case.select().where(Case.id == case.id).first()
    assert row is not None
    assert row["party_id_masked"] == "**************1234"
    assert "140826199001011234" not in str(row)
    assert row["party_id_hash"] == service.hash_id_number("140826199001011234", salt=SALT)
