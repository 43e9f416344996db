"""R-CERT-4/6/7, R-AGY-5: every refusal reason of verify_for_action, entrusted officers, sanctions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest

from backend.core import clock
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from certificates import reading, schemas, signing, transitions, verification


async def _check(
    key_ring: Any, officer: Any, *, agency_id: Any = None, domain: str = "urban_management", matter: Any = None, at: Any = None
) -> schemas.CertificateCheck:
    return await verification.verify_for_action(
        keys=key_ring,
        user_id=officer.user.id,
        acting_agency_id=agency_id or officer.agency.id,
        domain=domain,
        matter=matter,
        at=at or clock.now(),
    )


def _body(cls: Any, **fields: Any) -> Any:
    return msgspec.convert(fields, cls)


@pytest.mark.requirement("R-CERT-4")
async def test_not_found_without_certificate(make_person, key_ring):
    officer = await make_person()
    check = await _check(key_ring, officer)
    assert (check.allowed, check.reason, check.certificate_id) == (False, "not_found", None)
    assert check.snapshot["reason"] == "not_found"
    # A refusal is signed too, so a blocked attempt is provable.
    assert await signing.verify_snapshot_token(keys=key_ring, token=check.snapshot_token) == check.snapshot


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-2", "R-CERT-3", "R-CERT-4")
async def test_suspended_and_revoked_fail_at_once(make_person, issue_certificate, key_ring):
    officer = await make_person()
    admin = await make_person(roles=["admin"], agency=officer.agency)
    cert = await issue_certificate(officer, admin=admin)
    suspend = _body(schemas.SuspendIn, reason="涉嫌违纪", document_ref="暂扣〔2025〕1号")
    await transitions.suspend(principal=admin.principal, certificate_id=cert.id, data=suspend)
    check = await _check(key_ring, officer)
    assert (check.allowed, check.reason, check.certificate_no) == (False, "suspended", cert.number)
    await transitions.revoke(
        principal=admin.principal, certificate_id=cert.id, data=_body(schemas.RevokeIn, reason="r", document_ref="d")
    )
    assert (await _check(key_ring, officer)).reason == "revoked"


@pytest.mark.requirement("R-CERT-2", "R-CERT-4")
async def test_validity_window_is_checked_against_the_given_time(make_person, issue_certificate, key_ring):
    officer = await make_person()
    now = clock.now()
    await issue_certificate(
        officer, valid_from=(now + timedelta(days=1)).isoformat(), valid_until=(now + timedelta(days=30)).isoformat()
    )
    assert (await _check(key_ring, officer, at=now)).reason == "not_yet_valid"
    assert (await _check(key_ring, officer, at=now + timedelta(days=2))).allowed is True
    expired = await _check(key_ring, officer, at=now + timedelta(days=30))
    assert expired.reason == "expired"
    assert expired.snapshot["status"] == "expired"


@pytest.mark.requirement("R-CERT-4", "R-CERT-6")
async def test_agency_mismatch_and_domain_not_covered(make_person, make_agency, issue_certificate, key_ring):
    officer = await make_person()
    await issue_certificate(officer)
    other = await make_agency()
    assert (await _check(key_ring, officer, agency_id=other.id)).reason == "agency_mismatch"
    assert (await _check(key_ring, officer, domain="market_supervision")).reason == "domain_not_covered"


async def test_the_most_telling_refusal_wins_across_several_certificates(make_person, issue_certificate, key_ring):
    officer = await make_person()
    admin = await make_person(roles=["admin"], agency=officer.agency)
    await issue_certificate(officer, admin=admin, domains=["market_supervision"])
    urban = await issue_certificate(officer, admin=admin)
    suspend = _body(schemas.SuspendIn, reason="涉嫌违纪", document_ref="暂扣〔2025〕1号")
    await transitions.suspend(principal=admin.principal, certificate_id=urban.id, data=suspend)
    check = await _check(key_ring, officer)
    assert (check.reason, check.certificate_id) == ("suspended", urban.id)
    assert (await _check(key_ring, officer, domain="market_supervision")).allowed is True


async def _entrustment(make_person: Any, entruster: Any, entrusted: Any, **fields: Any) -> Any:
    admin = await make_person(roles=["admin"], agency=entruster)
    now = clock.now()
    data = {
        "entrusted_agency_id": str(entrusted.id),
        "legal_basis": "《行政处罚法》第二十条",
        "matters": ["illegal_building"],
        "domains": ["urban_management"],
        "action_kinds": ["inspection"],
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=90)).isoformat(),
        "letter_ref": "委托书〔2025〕7号",
        **fields,
    }
    return await org_service.create_entrustment(principal=admin.principal, data=msgspec.convert(data, org_schemas.EntrustmentIn))


@pytest.mark.both_engines
@pytest.mark.requirement("R-AGY-5", "R-CERT-4", "R-CERT-6")
async def test_entrusted_officer_acts_only_in_the_entrusting_agencys_name(make_person, make_agency, issue_certificate, key_ring):
    entruster = await make_agency()
    entrusted = await make_agency(kind="entrusted_organisation", domains=[], matters=[])
    entrustment = await _entrustment(make_person, entruster, entrusted)
    officer = await make_person(agency=entrusted)
    await issue_certificate(officer)

    allowed = await _check(key_ring, officer, agency_id=entruster.id, matter="illegal_building")
    assert allowed.allowed is True
    assert allowed.acting_agency_id == entruster.id
    assert allowed.snapshot["acting_agency_name"] == entruster.name
    assert allowed.snapshot["entrustment_id"] == str(entrustment.id)
    # Never in its own name.
    assert (await _check(key_ring, officer, agency_id=entrusted.id)).reason == "agency_mismatch"
    # Only the entrusted matters.
    assert (await _check(key_ring, officer, agency_id=entruster.id, matter="food_safety")).reason == "domain_not_covered"
    # Only within the term.
    late = await _check(key_ring, officer, agency_id=entruster.id, matter="illegal_building", at=clock.now() + timedelta(days=91))
    assert late.reason == "agency_mismatch"
    # Only for the agency that entrusted it.
    stranger = await make_agency()
    assert (await _check(key_ring, officer, agency_id=stranger.id)).reason == "agency_mismatch"


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-7")
async def test_sanction_bars_check_in_and_cancellation_is_permanent(make_person, issue_certificate, key_ring):
    officer = await make_person()
    supervisor = await make_person(roles=["supervisor"], agency=officer.agency)
    cert = await issue_certificate(officer)
    until = clock.now() + timedelta(days=60)
    changed = await transitions.suspend_holder(
        actor_id=supervisor.user.id,
        actor_agency_id=supervisor.agency.id,
        holder_id=officer.user.id,
        reason="暂停执法工作",
        rule_breached="过错 Art.11(3)",
        document_ref="处理决定〔2025〕5号",
        until=until,
    )
    assert changed == [cert.id]
    assert (await _check(key_ring, officer)).reason == "suspended"
    # Fail closed: the term passing does not lift the bar by itself; an admin reinstates.
    assert (await _check(key_ring, officer, at=until + timedelta(days=1))).reason == "suspended"

    cancelled = await transitions.suspend_holder(
        actor_id=supervisor.user.id,
        actor_agency_id=supervisor.agency.id,
        holder_id=officer.user.id,
        reason="取消执法资格",
        rule_breached="过错 Art.11(3)",
        document_ref="处理决定〔2025〕6号",
        until=None,
        cancel=True,
    )
    assert cancelled == [cert.id]
    assert (await _check(key_ring, officer)).reason == "revoked"
    admin = await make_person(roles=["admin"], agency=officer.agency)
    detail = await reading.get_certificate(principal=admin.principal, certificate_id=cert.id)
    assert [(e.action, e.actor_id, e.document_ref) for e in detail.history[1:]] == [
        ("suspend", supervisor.user.id, "处理决定〔2025〕5号"),
        ("revoke", supervisor.user.id, "处理决定〔2025〕6号"),
    ]
