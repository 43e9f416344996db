"""R-CERT-5: each action records that every officer wore or showed a valid certificate.

The officer records it from the phone (time on both clocks, optionally a photo or video of
the certificate shown): only after a successful check-in on the action, whose verified
certificate is the one shown — on site, whenever the party is met, so before the action
closes: closing refuses while an officer who checked in has not. An action kind the law
exempts ("另有规定的除外") is exempt only with its legal citation, recorded by the agency's
admin (``exempt``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict
from backend.core.rows import fetch_all, fetch_one
from backend.field import rules
from backend.field.action_schemas import ActionKind
from backend.field.cases import NotCheckedIn
from backend.field.relations import action_for
from backend.field.rows import ActionRow
from backend.field.schemas import Strict
from backend.field.tables import ActionParticipant, CertificateExemption, CertificateShown, CheckIn
from backend.ledger.service import append_case_event, append_event
from evidence.tables import EvidenceItem


class CertificateNotShown(Conflict):
    slug = "certificate-not-shown"
    title = "An officer has not recorded showing the certificate on this action"


class CertificateShownIn(Strict, kw_only=True):
    id: UUID
    device_time: datetime
    # A photo or video of the certificate as shown (evidence of this case), if one was taken.
    evidence_id: UUID | None = None


class CertificateShownOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)  # the officer who showed it, by name (issue 14.5)
    id: UUID
    action_id: UUID
    user_id: UUID
    check_in_id: UUID
    server_time: datetime
    device_time: datetime
    evidence_id: UUID | None
    user_name: str | None = None
    user_role: str | None = None


class ExemptionIn(Strict, kw_only=True):
    action_kind: ActionKind
    legal_citation: Annotated[str, Meta(min_length=4, max_length=500)]


class ExemptionOut(msgspec.Struct, kw_only=True):
    action_kind: str
    legal_citation: str
    recorded_at: datetime


_SHOWN = (
    CertificateShown.id,
    CertificateShown.action.as_alias("action_id"),
    CertificateShown.user.as_alias("user_id"),
    CertificateShown.check_in.as_alias("check_in_id"),
    CertificateShown.server_time,
    CertificateShown.device_time,
    CertificateShown.evidence_id,
)


async def record_shown(*, principal: Principal, action_id: UUID, data: CertificateShownIn) -> CertificateShownOut:
    """The caller showed the certificate verified at their check-in on this action."""
    case, action = await action_for(principal=principal, action_id=action_id, rule=rules.ACTION_ON_SITE)
    existing = await fetch_one(CertificateShownOut, CertificateShown.select(*_SHOWN).where(CertificateShown.id == data.id))
    if existing is not None:
        if (existing.action_id, existing.user_id) != (action_id, principal.user_id):
            raise Conflict(f"record {data.id} belongs to another action or officer", field="id")
        return existing
    check_ins = await (
        CheckIn.select(CheckIn.id)
        .where((CheckIn.action == action_id) & (CheckIn.user == principal.user_id) & (CheckIn.allowed == True))  # noqa: E712
        .order_by(CheckIn.server_time, ascending=False)
        .limit(1)
        .output(as_list=True)
    )
    if not check_ins:
        # Only a certificate verified valid at check-in is one shown as valid (R-CERT-4/5).
        raise NotCheckedIn(f"you have no successful check-in on action {action_id}; no valid certificate to show")
    if data.evidence_id is not None and not await EvidenceItem.exists().where(
        (EvidenceItem.id == data.evidence_id) & (EvidenceItem.case_id == case.id) & (EvidenceItem.agency == case.agency_id)
    ):
        raise Conflict(f"evidence {data.evidence_id} is not a capture of this case", field="evidence_id")
    async with write_transaction():
        await CertificateShown.insert(
            CertificateShown(
                id=data.id,
                action=action_id,
                user=principal.user_id,
                check_in=check_ins[0],
                server_time=clock.now(),
                device_time=data.device_time,
                evidence_id=data.evidence_id,
            )
        )
        await append_case_event(
            principal=principal,
            event="action.certificate_shown",
            case_id=action.case_id,
            action_id=action_id,
            subject_type="certificate_shown",
            subject_id=data.id,
            details={"check_in_id": str(check_ins[0]), "evidence_id": str(data.evidence_id) if data.evidence_id else None},
        )
    shown = await fetch_one(CertificateShownOut, CertificateShown.select(*_SHOWN).where(CertificateShown.id == data.id))
    assert shown is not None
    return shown


async def exemption(*, agency_id: UUID, action_kind: str) -> str:
    """The legal citation exempting this kind of action of the agency, or ''."""
    found = await (
        CertificateExemption.select(CertificateExemption.legal_citation)
        .where((CertificateExemption.agency == agency_id) & (CertificateExemption.action_kind == action_kind))
        .output(as_list=True)
    )
    return str(found[0]) if found else ""


async def not_shown(*, agency_id: UUID, action_id: UUID, action_kind: str, participants: Sequence[UUID]) -> list[UUID]:
    """Participants who have not recorded showing their certificate (none when the kind is exempt)."""
    if await exemption(agency_id=agency_id, action_kind=action_kind):
        return []
    shown = set(
        await CertificateShown.select(CertificateShown.user).where(CertificateShown.action == action_id).output(as_list=True)
    )
    return [p for p in participants if p not in shown]


async def ensure_all_shown(*, action: ActionRow) -> None:
    """Closing: every participant with a valid check-in recorded showing the certificate (409
    otherwise). Someone taken off the action (recusal, removal) can record nothing more and is
    not waited for; their check-in stays as it was."""
    acted = await (
        CheckIn.select(CheckIn.user).where((CheckIn.action == action.id) & (CheckIn.allowed == True)).output(as_list=True)  # noqa: E712
    )
    on_action = set(
        await ActionParticipant.select(ActionParticipant.user)
        .where((ActionParticipant.action == action.id) & ActionParticipant.removed_at.is_null())
        .output(as_list=True)
    )
    officers = [user for user in dict.fromkeys(acted) if user in on_action]
    unshown = await not_shown(agency_id=action.agency_id, action_id=action.id, action_kind=action.kind, participants=officers)
    if unshown:
        raise CertificateNotShown(
            f"{len(unshown)} officer(s) who checked in have not recorded showing the certificate",
            user_ids=[str(u) for u in unshown],
        )


async def exempt(*, principal: Principal, data: ExemptionIn) -> ExemptionOut:
    """An admin records an action kind exempt by law, citing the provision; ledgered."""
    authorize(agency_parts(principal), rules.CERTIFICATE_EXEMPT)
    now = clock.now()
    async with write_transaction():
        if await exemption(agency_id=principal.agency_id, action_kind=data.action_kind):
            raise Conflict(f"{data.action_kind} is already exempt", field="action_kind")
        await CertificateExemption.insert(
            CertificateExemption(
                id=uuid.uuid4(),
                agency=principal.agency_id,
                action_kind=data.action_kind,
                legal_citation=data.legal_citation,
                recorded_by=principal.user_id,
                recorded_at=now,
            )
        )
        await append_event(
            event="agency.certificate_exemption",
            actor_id=principal.user_id,
            agency_id=principal.agency_id,
            subject_type="agency",
            subject_id=str(principal.agency_id),
            details={"action_kind": data.action_kind, "legal_citation": data.legal_citation},
        )
    return ExemptionOut(action_kind=data.action_kind, legal_citation=data.legal_citation, recorded_at=now)


async def exemptions(*, principal: Principal) -> list[ExemptionOut]:
    authorize(agency_parts(principal), rules.CERTIFICATE_EXEMPTIONS_READ)
    query = CertificateExemption.select(
        CertificateExemption.action_kind, CertificateExemption.legal_citation, CertificateExemption.recorded_at
    ).where(CertificateExemption.agency == principal.agency_id)
    return await fetch_all(ExemptionOut, query.order_by(CertificateExemption.action_kind))
