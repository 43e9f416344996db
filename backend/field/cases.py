"""Cases: opening them, their officers and capture authorisation (R-AGY-1/3, R-DISC-8, R-REC-6).

Records and stages are in ``stages.py``, recusal in ``recusal.py``, on-site actions in
``actions.py`` and the modules it names.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime
from pathlib import Path
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.access import Rule, agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.field import declarations, rules, schemas
from backend.field.device_status import ensure_not_revoked
from backend.field.recusal import blocked_reason
from backend.field.relations import case_for
from backend.field.rows import CaseRow
from backend.field.tables import Action, ActionParticipant, Case, CaseOfficer, CaseStage, CheckIn
from backend.ledger.service import append_case_event, append_event
from backend.org import service as org_service
from backend.org.schemas import AgencyOut
from evidence.schemas import CaptureContext


class CaseArchived(Conflict):
    slug = "case-archived"
    title = "The case is archived and frozen"


class AgencyNotConfirmed(Conflict):
    slug = "agency-not-confirmed"
    title = "The agency's enforcement subject status is not confirmed"


class MatterOutsidePowers(InvalidInput):
    slug = "matter-outside-powers"
    title = "The matter is outside the agency's powers and duties"


class NotCheckedIn(Forbidden):
    slug = "not-checked-in"
    title = "You have no successful check-in on this action"


class SeparationOfFunctions(Conflict):
    slug = "separation-of-functions"
    title = "One person would hold conflicting functions on this case"


# --- party data minimisation ------------------------------------------------------------


def party_salt(key_dir: Path) -> bytes:
    """A server secret for hashing identity numbers, created once beside the signing keys."""
    path = key_dir / "party-id.salt"
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.replace(path)
    return path.read_bytes()


def mask_id_number(value: str) -> str:
    """Keep only the last four characters: enough to tell parties apart when reading."""
    cleaned = value.strip().upper()
    keep = cleaned[-4:] if len(cleaned) > 6 else ""
    return "*" * (len(cleaned) - len(keep)) + keep


def hash_id_number(value: str, *, salt: bytes) -> str:
    """Keyed hash: the same number matches across cases, but cannot be brute-forced offline."""
    return hmac.new(salt, value.strip().upper().encode(), hashlib.sha256).hexdigest()


# --- reading ----------------------------------------------------------------------------


class _OfficerRow(msgspec.Struct, kw_only=True, rename={"user_id": "user"}):
    id: UUID
    user_id: UUID
    role: str
    function: str
    removed_at: datetime | None
    removed_reason: str
    assigned_at: datetime


async def case_row(*, principal: Principal, case_id: UUID) -> CaseRow:
    row = await fetch_one(CaseRow, Case.select().where((Case.id == case_id) & (Case.agency == principal.agency_id)))
    if row is None:
        raise NotFound(f"case {case_id} not found")
    return row


async def _case_out(row: CaseRow, *, warnings: list[str] | None = None) -> schemas.CaseOut:
    query = CaseOfficer.select().where(CaseOfficer.case == row.id).order_by(CaseOfficer.assigned_at)
    officers = [
        msgspec.convert({**msgspec.structs.asdict(o), "removed": o.removed_at is not None}, schemas.CaseOfficerOut)
        for o in await fetch_all(_OfficerRow, query)
    ]
    fields = {**msgspec.structs.asdict(row), "officers": officers, "separation_warnings": warnings or []}
    return msgspec.convert(fields, schemas.CaseOut)


async def get_case(
    *, principal: Principal, case_id: UUID, rule: Rule = rules.CASE_READ, purpose: str | None = None
) -> schemas.CaseOut:
    """The case as ``rule`` lets the caller read it (across agencies: ledgered with ``purpose``)."""
    return await _case_out(await case_for(principal=principal, case_id=case_id, rule=rule, purpose=purpose))


async def list_cases(
    *,
    principal: Principal,
    stage: str | None = None,
    limit: int = 100,
    agency_id: UUID | None = None,
    purpose: str | None = None,
) -> list[schemas.CaseOut]:
    """The caller's agency's cases; with another ``agency_id``, the ones the caller oversees:
    the Justice Bureau all of them (R-SUP-2), an entrusting agency those acting in its name
    (R-AGY-6). Such a listing is ledgered with its purpose."""
    owner = agency_id or principal.agency_id
    query = Case.select().where(Case.agency == owner)
    foreign = owner != principal.agency_id
    if foreign and not principal.is_justice_bureau:
        query = query.where((Case.acting_agency == principal.agency_id) & Case.entrustment.is_not_null())
    if stage is not None:
        query = query.where(Case.stage == stage)
    rows = await fetch_all(CaseRow, query.order_by(Case.created_at, ascending=False).limit(limit))
    if foreign and (rows or principal.is_justice_bureau):
        await append_event(
            event="oversight.list",
            actor_id=principal.user_id,
            agency_id=principal.agency_id,
            subject_type="agency",
            subject_id=str(owner),
            details={"rule": rules.CASE_LIST.name, "purpose": (purpose or "").strip() or rules.CASE_LIST.purpose},
        )
    return [await _case_out(r) for r in rows]


async def active_officer_ids(*, case_id: UUID) -> set[UUID]:
    query = CaseOfficer.select(CaseOfficer.user).where((CaseOfficer.case == case_id) & CaseOfficer.removed_at.is_null())
    return set(await query.output(as_list=True))


def ensure_not_archived(case: CaseRow) -> None:
    # R-REC-6: archiving freezes the case.
    if case.stage == "archived":
        raise CaseArchived(f"case {case.reference} is archived; nothing can be added or changed")


# --- creating ---------------------------------------------------------------------------


async def _acting_for(agency: AgencyOut, matter: str) -> tuple[UUID, UUID | None]:
    """R-AGY-3: the matter must be in the agency's own list or an active entrustment."""
    if matter in agency.matters:
        return agency.id, None
    for entrustment in await org_service.active_entrustments(entrusted_agency_id=agency.id, at=clock.now()):
        if matter in entrustment.matters:
            # R-CERT-6: entrusted bodies act in the entrusting agency's name.
            return entrustment.entrusting_agency_id, entrustment.id
    raise MatterOutsidePowers(
        f"matter {matter!r} is neither in the agency's powers-and-duties list nor in an active entrustment",
        field="matter",
    )


async def _check_officers(principal: Principal, officers: list[schemas.OfficerAssignmentIn]) -> None:
    leads = [o for o in officers if o.role == "lead"]
    if len(leads) != 1:
        raise InvalidInput("a case needs exactly one lead officer (主办)", field="officers")
    if len({o.user_id for o in officers}) != len(officers):
        raise InvalidInput("an officer is listed twice", field="officers")
    for officer in officers:
        await org_service.get_user(principal=principal, user_id=officer.user_id)


async def create_case(*, principal: Principal, data: schemas.CaseIn, id_salt: bytes) -> schemas.CaseOut:
    authorize(agency_parts(principal), rules.CASE_OPEN)
    agency = await org_service.get_agency(agency_id=principal.agency_id)
    if agency.subject_status != "confirmed":
        # R-AGY-1: only a confirmed enforcement subject owns cases.
        raise AgencyNotConfirmed(f"agency {agency.code} is {agency.subject_status}, not confirmed")
    acting_agency_id, entrustment_id = await _acting_for(agency, data.matter)
    await _check_officers(principal, data.officers)
    case_id = data.id or uuid.uuid4()
    existing = await fetch_one(CaseRow, Case.select().where(Case.id == case_id))
    if existing is not None:
        return await _replayed_case(principal, existing)
    # R-RCS-2: every officer declared before being assigned; the lead in this very request.
    declarations.refuse_if_missing(declarations.opening_missing(principal, data.officers, data.declaration))
    now = clock.now()
    id_number = data.party.id_number
    async with write_transaction():
        with unique_as(f"case {case_id} already exists", field="id"):
            await Case.insert(
                Case(
                    id=case_id,
                    agency=principal.agency_id,
                    entrustment=entrustment_id,
                    acting_agency=acting_agency_id,
                    reference=f"{agency.code}-{now:%Y%m%d}-{case_id.hex[:8]}",
                    kind=data.kind,
                    title=data.title,
                    matter=data.matter,
                    domain=data.domain,
                    legal_basis=data.legal_basis,
                    party_kind=data.party.kind,
                    party_name=data.party.name,
                    party_id_masked=mask_id_number(id_number) if id_number else "",
                    party_id_hash=hash_id_number(id_number, salt=id_salt) if id_number else "",
                    location=data.location,
                    stage="initiation",
                    stage_entered_at=now,
                    created_by=principal.user_id,
                    created_at=now,
                )
            )
        await CaseStage.insert(CaseStage(id=uuid.uuid4(), case=case_id, stage="initiation", entered_at=now))
        assert data.declaration is not None  # opening_missing refused a case without it
        await declarations.insert_declaration(principal, case_id, data.declaration)
        warnings: list[str] = []
        for officer in data.officers:
            warnings += await _insert_officer(principal, case_id, officer, mode=agency.separation_mode)
        await append_case_event(
            principal=principal,
            event="case.opened",
            case_id=case_id,
            details={"kind": data.kind, "matter": data.matter, "acting_agency_id": str(acting_agency_id)},
        )
    row = await case_row(principal=principal, case_id=case_id)
    return await _case_out(row, warnings=warnings)


async def _replayed_case(principal: Principal, existing: CaseRow) -> schemas.CaseOut:
    # A client-generated id sent twice is the same case; another agency's id is not ours.
    if existing.agency_id != principal.agency_id:
        raise NotFound(f"case {existing.id} not found")
    return await _case_out(existing)


async def _insert_officer(principal: Principal, case_id: UUID, officer: schemas.OfficerAssignmentIn, *, mode: str) -> list[str]:
    warnings = await _separation_check(case_id=case_id, user_id=officer.user_id, function=officer.function, mode=mode)
    await CaseOfficer.insert(
        CaseOfficer(
            id=uuid.uuid4(),
            case=case_id,
            user=officer.user_id,
            role=officer.role,
            function=officer.function,
            assigned_by=principal.user_id,
            assigned_at=clock.now(),
        )
    )
    return warnings


async def _separation_check(*, case_id: UUID, user_id: UUID, function: str, mode: str) -> list[str]:
    """R-DISC-8: filing, investigation, hearing and decision by different people (block or warn)."""
    held = CaseOfficer.select(CaseOfficer.function).where(
        (CaseOfficer.case == case_id) & (CaseOfficer.user == user_id) & CaseOfficer.removed_at.is_null()
    )
    others = sorted(set(await held.output(as_list=True)) - {function})
    if not others:
        return []
    message = f"user {user_id} would hold {function} besides {', '.join(others)} on this case"
    if mode == "block":
        raise SeparationOfFunctions(message, field="function")
    return [message]


async def assign_officer(*, principal: Principal, case_id: UUID, data: schemas.OfficerAssignmentIn) -> schemas.CaseOut:
    row = await case_for(principal=principal, case_id=case_id, rule=rules.CASE_ASSIGN)
    ensure_not_archived(row)
    await org_service.get_user(principal=principal, user_id=data.user_id)
    await _ensure_not_recused(case_id=case_id, user_id=data.user_id)
    await declarations.ensure_declared(case_id=case_id, user_id=data.user_id)
    if data.role == "lead":
        current = (
            await CaseOfficer.select(CaseOfficer.id)
            .where((CaseOfficer.case == case_id) & (CaseOfficer.role == "lead") & CaseOfficer.removed_at.is_null())
            .first()
        )
        if current is not None:
            raise Conflict("the case already has a lead officer", field="role")
    agency = await org_service.get_agency(agency_id=principal.agency_id)
    async with write_transaction():
        warnings = await _insert_officer(principal, case_id, data, mode=agency.separation_mode)
        await append_case_event(
            principal=principal,
            event="case.officer_assigned",
            case_id=case_id,
            details={"user_id": str(data.user_id), "role": data.role, "function": data.function},
        )
    return await _case_out(row, warnings=warnings)


async def _ensure_not_recused(*, case_id: UUID, user_id: UUID) -> None:
    """R-RCS-4: a declared or established ground blocks reassignment to the case."""
    reason = await blocked_reason(case_id=case_id, user_id=user_id)
    if reason:
        raise Conflict(f"user {user_id} cannot be assigned: {reason}", field="user_id")


# --- capture authorisation (the one entry point for evidence) ---------------------------


async def authorize_capture(
    *, principal: Principal, case_id: UUID, action_id: UUID | None, device_id: str | None = None
) -> CaptureContext:
    """May this officer attach evidence to the case (and action)? Returns the capture context.

    Another agency's case, or an officer not assigned to it, is NotFound; an archived case is
    a Conflict (R-REC-6). For an action, the officer must be a participant not removed by a
    recusal with a successful check-in on it (else 403 ``not-checked-in``); the certificate
    snapshot of their latest allowed check-in is referenced. A revoked registered device is
    refused (``backend.field.device_status``), here and again when a tus upload completes.
    """
    row = await case_row(principal=principal, case_id=case_id)
    if principal.user_id not in await active_officer_ids(case_id=case_id):
        raise NotFound(f"case {case_id} not found")
    ensure_not_archived(row)
    if device_id is not None:
        await ensure_not_revoked(device_id)
    check_in_id: UUID | None = None
    if action_id is not None:
        await _ensure_action_participant(case_id=case_id, action_id=action_id, user_id=principal.user_id)
        check_ins = await (
            CheckIn.select(CheckIn.id)
            .where((CheckIn.action == action_id) & (CheckIn.user == principal.user_id) & (CheckIn.allowed == True))  # noqa: E712
            .order_by(CheckIn.server_time, ascending=False)
            .limit(1)
            .output(as_list=True)
        )
        if not check_ins:
            # Evidence during an action comes only from a participant whose certificate was
            # verified there (R-CERT-4): a refused check-in (e.g. a suspended certificate)
            # leaves nothing to attach evidence under (issue 14, found #3).
            raise NotCheckedIn(f"you have no successful check-in on action {action_id}; check in before capturing")
        check_in_id = check_ins[0]
    return _capture_context(principal, row, action_id, check_in_id)


async def _ensure_action_participant(*, case_id: UUID, action_id: UUID, user_id: UUID) -> None:
    action = await Action.exists().where((Action.id == action_id) & (Action.case == case_id))
    participant = await ActionParticipant.exists().where(
        (ActionParticipant.action == action_id) & (ActionParticipant.user == user_id) & ActionParticipant.removed_at.is_null()
    )
    if not action or not participant:
        raise NotFound(f"action {action_id} not found")


def _capture_context(principal: Principal, case: CaseRow, action_id: UUID | None, check_in_id: UUID | None) -> CaptureContext:
    return CaptureContext(
        # The owning agency: evidence is scoped by it exactly like the case (for entrusted
        # cases the entruster's name is on the case as acting_agency, R-CERT-6).
        agency_id=case.agency_id,
        case_id=case.id,
        action_id=action_id,
        officer_id=principal.user_id,
        certificate_snapshot_id=str(check_in_id) if check_in_id else None,
    )
