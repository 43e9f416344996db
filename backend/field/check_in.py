"""Check-in: the officer's certificate is verified at that moment (R-CERT-4/5).

The result and the signed certificate snapshot are stored with the check-in, a refusal too;
the start gate in ``transitions.py`` counts the allowed ones.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, NotFound
from backend.core.keys import KeyRing
from backend.core.rows import fetch_one, json_text, row_as
from backend.core.settings import Settings
from backend.field import action_schemas
from backend.field.actions import ensure_participant, ensure_state, skew
from backend.field.device_status import ensure_not_revoked
from backend.field.entrusted import ensure_entrusted_act
from backend.field.rows import ActionRow
from backend.field.schemas import GeoPoint
from backend.field.tables import Action, CheckIn
from backend.ledger.service import append_case_event
from certificates import verification as certificate_verification


class CheckInRefused(Conflict):
    slug = "certificate-not-valid"
    title = "The certificate does not allow this check-in"


@functools.cache
def _refusal_class(reason: str) -> type[CheckInRefused]:
    """One problem type per reason code: /problems/certificate-<reason> (R-CERT-4)."""
    slug = "certificate-" + reason.replace("_", "-")
    return type(f"CheckInRefused_{reason}", (CheckInRefused,), {"slug": slug})


class _CheckInRow(msgspec.Struct, kw_only=True, rename={"action_id": "action", "user_id": "user"}):
    id: UUID
    action_id: UUID
    user_id: UUID
    allowed: bool
    reason: str
    certificate_id: UUID | None
    server_time: datetime
    device_time: datetime
    skew_s: float
    skew_flagged: bool
    latitude: float
    longitude: float
    accuracy_m: float


class _CheckInAction(ActionRow, kw_only=True):
    """The action with what the certificate check needs from its case."""

    case_acting_agency: UUID
    case_domain: str
    case_matter: str
    case_entrustment: UUID | None


def _raise_if_refused(row: _CheckInRow) -> action_schemas.CheckInOut:
    location = GeoPoint(latitude=row.latitude, longitude=row.longitude, accuracy_m=row.accuracy_m)
    out = msgspec.convert({**msgspec.structs.asdict(row), "location": location}, action_schemas.CheckInOut)
    if not out.allowed:
        raise _refusal_class(out.reason)(
            f"check-in refused: certificate {out.reason.replace('_', ' ')}", reason=out.reason, check_in_id=str(out.id)
        )
    return out


# Built once: Piccolo's join columns are costly to construct on every request.
_CHECK_IN_COLUMNS = (
    *Action.all_columns(),
    Action.case.acting_agency.as_alias("case_acting_agency"),
    Action.case.domain.as_alias("case_domain"),
    Action.case.matter.as_alias("case_matter"),
    Action.case.entrustment.as_alias("case_entrustment"),
)


async def _check_in_action(*, principal: Principal, action_id: UUID) -> _CheckInAction:
    """The action (caller's agency) with what the certificate check needs from its case, in one query."""
    row = await fetch_one(
        _CheckInAction, Action.select(*_CHECK_IN_COLUMNS).where((Action.id == action_id) & (Action.agency == principal.agency_id))
    )
    if row is None:
        raise NotFound(f"action {action_id} not found")
    return row


async def check_in(
    *, principal: Principal, keys: KeyRing, settings: Settings, action_id: UUID, data: action_schemas.CheckInIn
) -> action_schemas.CheckInOut:
    """Verify the certificate for the case's acting agency and domain; store result and snapshot.

    A refusal is stored too (R-CERT-4: result and time stored), then answered as a problem.
    The client-generated id makes a retried offline check-in the same record.
    """
    action = await _check_in_action(principal=principal, action_id=action_id)
    existing = await fetch_one(_CheckInRow, CheckIn.select().where(CheckIn.id == data.id))
    if existing is not None:
        if existing.action_id != action_id or existing.user_id != principal.user_id:
            raise Conflict(f"check-in {data.id} belongs to another action or officer", field="id")
        return _raise_if_refused(existing)
    await ensure_not_revoked(data.device_id)
    await ensure_participant(principal=principal, action=action)
    ensure_state(action, {"planned", "in_progress"}, "check in")
    now = clock.now()
    # R-AGY-5: under an entrustment, only the acts it names and only within its term.
    await ensure_entrusted_act(entrustment_id=action.case_entrustment, action_kind=action.kind, at=now, field="action_id")
    result = await certificate_verification.verify_for_action(
        keys=keys,
        user_id=principal.user_id,
        acting_agency_id=action.case_acting_agency,
        domain=action.case_domain,
        matter=action.case_matter,
        at=now,
    )
    skew_s, flagged = skew(data.device_time, now, settings.clock_skew_tolerance_s)
    async with write_transaction():
        # RETURNING hands back the row as stored (REAL columns round on PostgreSQL), so the
        # answer equals every later read without selecting it again.
        stored = await CheckIn.insert(
            CheckIn(
                id=data.id,
                action=action_id,
                user=principal.user_id,
                device_id=data.device_id,
                allowed=result.allowed,
                reason=result.reason or "",
                certificate_id=result.certificate_id,
                snapshot=json_text(result.snapshot),
                snapshot_token=result.snapshot_token,
                server_time=now,
                device_time=data.device_time,
                skew_s=skew_s,
                skew_flagged=flagged,
                latitude=data.location.latitude,
                longitude=data.location.longitude,
                accuracy_m=data.location.accuracy_m,
            )
        ).returning(*CheckIn.all_columns())
        # The ledger append comes last: its lock is held only from here to COMMIT.
        await append_case_event(
            principal=principal,
            event="action.check_in" if result.allowed else "action.check_in_refused",
            case_id=action.case_id,
            action_id=action_id,
            subject_type="check_in",
            subject_id=data.id,
            details={"reason": result.reason, "certificate_no": result.certificate_no, "skew_s": skew_s},
        )
    return _raise_if_refused(row_as(_CheckInRow, stored[0]))


async def valid_check_ins(action_id: UUID, participants: Sequence[UUID]) -> set[UUID]:
    users = await (
        CheckIn.select(CheckIn.user)
        .where((CheckIn.action == action_id) & (CheckIn.allowed == True))  # noqa: E712
        .output(as_list=True)
    )
    return set(users) & set(participants)
