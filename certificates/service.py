"""Certificate rules (R-CERT-1..7, R-AGY-5): issuing, lifecycle, verification at check-in.

``verify_for_action`` is the one function every check-in path calls (R-CERT-4); ``suspend``
and ``suspend_holder`` are the entry points of the fault/sanction path (R-CERT-7).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode
from uuid import UUID

import jwt
import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import current_engine, is_postgres, unique_as, write_transaction
from backend.core.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from backend.core.keys import ALGORITHM, KeyRing, jwk
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from backend.org.tables import Agency, Entrustment, User
from certificates import lifecycle, schemas
from certificates.tables import CardRecovery, Certificate, CertificateEvent, SigningKeyArchive

SNAPSHOT_ISSUER = "fieldproof"
SNAPSHOT_AUDIENCE = "fieldproof-certificate-check"
CREDENTIAL_ISSUER = "fieldproof"
CREDENTIAL_AUDIENCE = "fieldproof-certificate"
# R-CERT-4 (offline): a credential is at most 24 h old; a longer-lived token is forged.
CREDENTIAL_MAX_TTL_S = 24 * 3600
_TOKEN_CLAIMS = ["exp", "iat", "sub", "aud", "iss"]


class ExamNotPassed(InvalidInput):
    slug = "certificate-exam-not-passed"
    title = "No passed public legal-knowledge exam"


class CertificateNotValid(Conflict):
    slug = "certificate-not-valid"
    title = "The certificate does not verify"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, reason=reason)


class CertificateSuspended(CertificateNotValid):
    slug = "certificate-suspended"
    title = "The certificate is suspended"


class CertificateRevoked(CertificateNotValid):
    slug = "certificate-revoked"
    title = "The certificate is revoked"


class CertificateExpired(CertificateNotValid):
    slug = "certificate-expired"
    title = "The certificate has expired"


_NOT_VALID: dict[str, type[CertificateNotValid]] = {
    "suspended": CertificateSuspended,
    "revoked": CertificateRevoked,
    "expired": CertificateExpired,
}


# --- reading rows ------------------------------------------------------------------------------

_CERT_COLUMNS = (
    *Certificate.all_columns(),
    Certificate.holder.full_name.as_alias("holder_name"),
    Certificate.agency.name.as_alias("agency_name"),
    Certificate.agency.kind.as_alias("agency_kind"),
)


def _json(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        return msgspec.json.decode(value) if value else default
    return default if value is None else value


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """Normalise a certificate row: aware UTC datetimes, decoded JSON."""
    out = dict(row)
    out["domains"] = [str(d) for d in _json(row["domains"], [])]
    for name in ("valid_from", "valid_until", "created_at", "updated_at"):
        out[name] = clock.as_utc(row[name])
    out["suspended_until"] = clock.as_utc(row["suspended_until"]) if row["suspended_until"] else None
    return out


async def _certificates(where: Any) -> list[dict[str, Any]]:
    rows = await Certificate.select(*_CERT_COLUMNS).where(where).order_by(Certificate.created_at, ascending=False)
    return [_row(r) for r in rows]


def _out(row: dict[str, Any], at: datetime) -> schemas.CertificateOut:
    return schemas.CertificateOut(
        id=row["id"],
        number=row["number"],
        holder_id=row["holder"],
        holder_name=row["holder_name"],
        agency_id=row["agency"],
        agency_name=row["agency_name"],
        domains=row["domains"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        photo_ref=row["photo_ref"],
        qualification_review_ref=row["qualification_review_ref"],
        exam=schemas.ExamResultOut(
            exam_id=row["exam_id"], exam_date=row["exam_date"], score=row["exam_score"], pass_mark=row["exam_pass_mark"]
        ),
        stored_status=row["status"],
        status=lifecycle.effective_status(stored=row["status"], valid_until=row["valid_until"], at=at),
        suspended_until=row["suspended_until"],
        verifies_now=_refusal(row, at) is None,
    )


def _refusal(row: dict[str, Any], at: datetime) -> lifecycle.CertificateReason | None:
    return lifecycle.refusal(stored=row["status"], valid_from=row["valid_from"], valid_until=row["valid_until"], at=at)


# --- signing -----------------------------------------------------------------------------------

_archived: set[tuple[int, str]] = set()


async def _archive_signing_key(keys: KeyRing) -> None:
    """Remember every public key that signed a snapshot, for verification years later (R-CERT-4)."""
    marker = (id(current_engine()), keys.kid)
    if marker in _archived:
        return
    public = jwk(keys.signing_key.public_key())
    await SigningKeyArchive.insert(SigningKeyArchive(kid=keys.kid, jwk=public, first_used_at=clock.now())).on_conflict(
        action="DO NOTHING"
    )
    _archived.add(marker)


async def _sign_snapshot(keys: KeyRing, snapshot: dict[str, Any]) -> str:
    await _archive_signing_key(keys)
    issued = int(clock.now().timestamp())
    claims = {
        "iss": SNAPSHOT_ISSUER,
        "aud": SNAPSHOT_AUDIENCE,
        "sub": snapshot["holder_id"],
        "iat": issued,
        "typ": "certificate-check",
        "snap": snapshot,
    }
    return keys.sign_jwt(claims)


async def archived_keys() -> dict[str, list[dict[str, str]]]:
    """Every public key that ever signed a snapshot (a JWKS document)."""
    rows = await SigningKeyArchive.select().order_by(SigningKeyArchive.first_used_at)
    return {"keys": [cast(dict[str, str], _json(r["jwk"], {})) for r in rows]}


async def verify_snapshot_token(*, keys: KeyRing, token: str) -> dict[str, Any]:
    """Check a stored check-in snapshot; raises ``jwt.InvalidTokenError`` when it does not verify.

    Snapshots have no expiry: they prove a past moment. Keys the ring has retired are looked
    up in the archive.
    """
    header = jwt.get_unverified_header(token)
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str):
        raise jwt.InvalidTokenError("unexpected algorithm or missing kid")
    key: Any = keys.public_key_for(kid)
    if key is None:
        row = await SigningKeyArchive.select(SigningKeyArchive.jwk).where(SigningKeyArchive.kid == kid).first()
        if row is None:
            raise jwt.InvalidTokenError("unknown signing key")
        key = jwt.PyJWK(_json(row["jwk"], {})).key
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=SNAPSHOT_AUDIENCE,
        issuer=SNAPSHOT_ISSUER,
        options={"require": ["iat", "sub", "aud", "iss"]},
    )
    return cast(dict[str, Any], claims["snap"])


# --- verification at check-in (R-CERT-4, R-CERT-6, R-AGY-5) ---------------------------------------


class _Verdict(msgspec.Struct, kw_only=True):
    row: dict[str, Any]
    reason: str | None
    acting_agency_id: UUID | None = None
    entrustment_id: UUID | None = None


_Entrustments = dict[UUID, list[org_schemas.EntrustmentOut]]


async def _acting_agency(
    row: dict[str, Any], *, acting_agency_id: UUID, domain: str, matter: str | None, at: datetime, seen: _Entrustments
) -> tuple[str | None, UUID | None]:
    """In whose name the holder may act for ``acting_agency_id``: (refusal, entrustment id).

    ``seen`` keeps the entrustments already read in this check: several certificates of the
    same entrusted organisation read them once.
    """
    entrusted = row["agency_kind"] == "entrusted_organisation"
    if row["agency"] == acting_agency_id:
        # R-AGY-5 / R-CERT-6: an entrusted organisation never acts in its own name.
        return ("agency_mismatch", None) if entrusted else (None, None)
    if not entrusted:
        return "agency_mismatch", None
    found = seen.get(row["agency"])
    if found is None:
        found = seen[row["agency"]] = await org_service.active_entrustments(entrusted_agency_id=row["agency"], at=at)
    mine = [e for e in found if e.entrusting_agency_id == acting_agency_id]
    if not mine:
        return "agency_mismatch", None
    for entrustment in mine:
        # R-AGY-5: only the entrusted matters and domains, within the term (active_entrustments).
        if domain in entrustment.domains and (matter is None or matter in entrustment.matters):
            return None, entrustment.id
    return "domain_not_covered", None


async def _judge(
    row: dict[str, Any], *, acting_agency_id: UUID, domain: str, matter: str | None, at: datetime, seen: _Entrustments
) -> _Verdict:
    reason, entrustment_id = await _acting_agency(
        row, acting_agency_id=acting_agency_id, domain=domain, matter=matter, at=at, seen=seen
    )
    if reason is None and domain not in row["domains"]:
        reason = "domain_not_covered"
    if reason is None:
        # R-CERT-2: only an active certificate within its validity verifies.
        reason = _refusal(row, at)
    acting = acting_agency_id if reason is None else None
    return _Verdict(row=row, reason=reason, acting_agency_id=acting, entrustment_id=entrustment_id)


# The most telling refusal wins when an officer holds several certificates: one that fits the
# acting agency and domain but is suspended says more than an unrelated one.
_RANK = {"suspended": 0, "revoked": 1, "expired": 2, "not_yet_valid": 3, "domain_not_covered": 4, "agency_mismatch": 5}


def _best(verdicts: list[_Verdict]) -> _Verdict | None:
    allowed = [v for v in verdicts if v.reason is None]
    if allowed:
        return allowed[0]
    ranked = sorted(verdicts, key=lambda v: _RANK.get(v.reason or "", 9))  # stable: newest first on ties
    return ranked[0] if ranked else None


def _snapshot(
    verdict: _Verdict | None,
    *,
    holder: dict[str, Any] | None,
    user_id: UUID,
    acting_name: str | None,
    domain: str,
    matter: str | None,
    at: datetime,
) -> dict[str, Any]:
    row = verdict.row if verdict else None
    return {
        "allowed": verdict is not None and verdict.reason is None,
        "reason": verdict.reason if verdict else "not_found",
        "checked_at": at.isoformat(),
        "holder_id": str(user_id),
        "holder_name": holder["full_name"] if holder else None,
        "certificate_id": str(row["id"]) if row else None,
        "certificate_no": row["number"] if row else None,
        "status": lifecycle.effective_status(stored=row["status"], valid_until=row["valid_until"], at=at) if row else None,
        "valid_from": row["valid_from"].isoformat() if row else None,
        "valid_until": row["valid_until"].isoformat() if row else None,
        "domains": row["domains"] if row else [],
        "issuing_agency_id": str(row["agency"]) if row else None,
        "acting_agency_id": str(verdict.acting_agency_id) if verdict and verdict.acting_agency_id else None,
        "acting_agency_name": acting_name,
        "entrustment_id": str(verdict.entrustment_id) if verdict and verdict.entrustment_id else None,
        "domain": domain,
        "matter": matter,
    }


async def verify_for_action(
    *, keys: KeyRing, user_id: UUID, acting_agency_id: UUID, domain: str, matter: str | None, at: datetime
) -> schemas.CertificateCheck:
    """R-CERT-4: may ``user_id`` act now for ``acting_agency_id`` in ``domain`` (and ``matter``)?

    Every check-in path calls this. The result carries a server-signed snapshot of the status
    at ``at`` (also for refusals, so a blocked attempt is provable too).
    """
    at = clock.as_utc(at)
    # The certificate rows carry the holder's name and the issuing agency's (one joined query);
    # the holder and the acting agency are read apart only when those rows cannot answer.
    rows = await _certificates(Certificate.holder == user_id)
    holder = (
        {"id": user_id, "full_name": rows[0]["holder_name"]}
        if rows
        else await User.select(User.id, User.full_name).where(User.id == user_id).first()
    )
    seen: _Entrustments = {}
    verdicts = [await _judge(r, acting_agency_id=acting_agency_id, domain=domain, matter=matter, at=at, seen=seen) for r in rows]
    verdict = _best(verdicts)
    acting_name = await _acting_name(verdict)
    snapshot = _snapshot(verdict, holder=holder, user_id=user_id, acting_name=acting_name, domain=domain, matter=matter, at=at)
    return schemas.CertificateCheck(
        allowed=snapshot["allowed"],
        reason=snapshot["reason"],
        certificate_id=verdict.row["id"] if verdict else None,
        certificate_no=verdict.row["number"] if verdict else None,
        acting_agency_id=verdict.acting_agency_id if verdict else None,
        snapshot=snapshot,
        snapshot_token=await _sign_snapshot(keys, snapshot),
    )


async def _acting_name(verdict: _Verdict | None) -> str | None:
    if verdict is None or verdict.acting_agency_id is None:
        return None
    if verdict.acting_agency_id == verdict.row["agency"]:
        return str(verdict.row["agency_name"])  # acting in the issuing agency's own name
    agency = await Agency.select(Agency.name).where(Agency.id == verdict.acting_agency_id).first()
    return agency["name"] if agency else None


async def certificate_status_for_user(*, user_id: UUID) -> schemas.MyCertificates:
    """The phone's `me` screen: the caller's certificates with their current status."""
    at = clock.now()
    items = [
        schemas.MyCertificate(
            id=r["id"],
            number=r["number"],
            agency_id=r["agency"],
            agency_name=r["agency_name"],
            domains=r["domains"],
            valid_from=r["valid_from"],
            valid_until=r["valid_until"],
            status=lifecycle.effective_status(stored=r["status"], valid_until=r["valid_until"], at=at),
            verifies_now=_refusal(r, at) is None,
            reason=_refusal(r, at),
            suspended_until=r["suspended_until"],
        )
        for r in await _certificates(Certificate.holder == user_id)
    ]
    return schemas.MyCertificates(items=items, any_valid=any(i.verifies_now for i in items), checked_at=at)


# --- scoping --------------------------------------------------------------------------------------


async def _managed_certificate(principal: Principal, certificate_id: UUID) -> dict[str, Any]:
    """Only admins of the issuing agency or the Justice Bureau manage a certificate; others 404.

    Even a colleague without the admin role gets 404 (issue #4): a status change is not
    something an officer may learn exists for a given certificate id.
    """
    rows = await _certificates(Certificate.id == certificate_id)
    may_manage = principal.has("admin") and (principal.is_justice_bureau or (rows and rows[0]["agency"] == principal.agency_id))
    if not rows or not may_manage:
        raise NotFound(f"certificate {certificate_id} not found")
    return rows[0]


# --- lifecycle ------------------------------------------------------------------------------------


class _Change(msgspec.Struct, kw_only=True):
    action: str
    reason: str = ""
    rule_breached: str = ""
    document_ref: str = ""
    actor_id: UUID | None
    actor_agency_id: UUID | None
    details: dict[str, Any] = {}


async def _append_event(certificate_id: UUID, change: _Change, *, from_status: str, to_status: str) -> UUID:
    """The only writer of the history: append, never update (R-CERT-2)."""
    seq = await CertificateEvent.count().where(CertificateEvent.certificate == certificate_id) + 1
    event_id = uuid.uuid4()
    await CertificateEvent.insert(
        CertificateEvent(
            id=event_id,
            certificate=certificate_id,
            seq=seq,
            action=change.action,
            from_status=from_status,
            to_status=to_status,
            reason=change.reason,
            rule_breached=change.rule_breached,
            document_ref=change.document_ref,
            actor=change.actor_id,
            actor_agency=change.actor_agency_id,
            details=change.details,
            at=clock.now(),
        )
    )
    return event_id


async def _transition(
    certificate_id: UUID,
    action: lifecycle.Action,
    change: _Change,
    *,
    updates: dict[Any, Any] | None = None,
    card: bool | None = None,
) -> None:
    """Apply one state-machine step atomically; ``card`` opens a card-recovery task (R-CERT-3)."""
    now = clock.now()
    async with write_transaction():
        rows = await _certificates(Certificate.id == certificate_id)
        if not rows:
            raise NotFound(f"certificate {certificate_id} not found")
        row = rows[0]
        current = lifecycle.effective_status(stored=row["status"], valid_until=row["valid_until"], at=now)
        target = lifecycle.next_status(action=action, current=current)
        # Compare-and-set on the stored state: a concurrent change makes this one a conflict.
        changed = (
            await Certificate.update(
                {
                    Certificate.status: target,
                    Certificate.updated_at: now,
                    Certificate.version: row["version"] + 1,
                    **(updates or {}),
                }
            )
            .where((Certificate.id == certificate_id) & (Certificate.version == row["version"]))
            .returning(Certificate.id)
        )
        if not changed:
            raise Conflict("the certificate was changed concurrently; reload and retry")
        event_id = await _append_event(certificate_id, change, from_status=current, to_status=target)
        if card is not None:
            await _open_card_task(certificate_id, event_id, recovered=card, change=change)


async def _open_card_task(certificate_id: UUID, event_id: UUID, *, recovered: bool, change: _Change) -> None:
    now = clock.now()
    await CardRecovery.insert(
        CardRecovery(
            id=uuid.uuid4(),
            certificate=certificate_id,
            opened_by_event=event_id,
            state="recovered" if recovered else "open",
            recovered_at=now if recovered else None,
            recovered_by=change.actor_id if recovered else None,
            opened_at=now,
        )
    )


def _actor(principal: Principal, action: str, **fields: Any) -> _Change:
    return _Change(action=action, actor_id=principal.user_id, actor_agency_id=principal.agency_id, **fields)


async def suspend(*, principal: Principal, certificate_id: UUID, data: schemas.SuspendIn) -> schemas.CertificateDetail:
    """暂扣 (R-CERT-2/3): verification fails from this moment; a card-recovery task opens."""
    await _managed_certificate(principal, certificate_id)
    if data.until is not None and data.until <= clock.now():
        raise InvalidInput("until must be in the future", field="until")
    change = _actor(
        principal,
        "suspend",
        reason=data.reason,
        rule_breached=data.rule_breached,
        document_ref=data.document_ref,
        details={"until": data.until.isoformat() if data.until else None, "card_recovered": data.card_recovered},
    )
    await _transition(
        certificate_id, "suspend", change, updates={Certificate.suspended_until: data.until}, card=data.card_recovered
    )
    return await get_certificate(principal=principal, certificate_id=certificate_id)


async def suspend_holder(
    *,
    actor_id: UUID,
    actor_agency_id: UUID,
    holder_id: UUID,
    reason: str,
    rule_breached: str,
    document_ref: str,
    until: datetime | None,
    cancel: bool = False,
) -> list[UUID]:
    """R-CERT-7: a sanction "suspend enforcement work" (or "cancel qualification": ``cancel``)
    bars every check-in of the holder for its term (permanently when cancelled).

    For the fault/sanction path, which has already authorised the sanction decision named by
    ``document_ref``. Returns the certificates changed; terminal ones are left as they are.
    """
    action: lifecycle.Action = "revoke" if cancel else "suspend"
    changed: list[UUID] = []
    now = clock.now()
    for row in await _certificates(Certificate.holder == holder_id):
        current = lifecycle.effective_status(stored=row["status"], valid_until=row["valid_until"], at=now)
        if current not in lifecycle.TRANSITIONS[action][0]:
            continue
        change = _Change(
            action=action,
            reason=reason,
            rule_breached=rule_breached,
            document_ref=document_ref,
            actor_id=actor_id,
            actor_agency_id=actor_agency_id,
            details={"until": until.isoformat() if until else None, "sanction": True},
        )
        updates = {} if cancel else {Certificate.suspended_until: until}
        await _transition(row["id"], action, change, updates=updates, card=False)
        changed.append(row["id"])
    return changed


async def reinstate(*, principal: Principal, certificate_id: UUID, data: schemas.ReinstateIn) -> schemas.CertificateDetail:
    await _managed_certificate(principal, certificate_id)
    change = _actor(principal, "reinstate", reason=data.reason, document_ref=data.document_ref)
    await _transition(certificate_id, "reinstate", change, updates={Certificate.suspended_until: None})
    return await get_certificate(principal=principal, certificate_id=certificate_id)


async def revoke(*, principal: Principal, certificate_id: UUID, data: schemas.RevokeIn) -> schemas.CertificateDetail:
    """注销 (R-CERT-2/3): terminal; a card-recovery task opens."""
    await _managed_certificate(principal, certificate_id)
    change = _actor(
        principal,
        "revoke",
        reason=data.reason,
        rule_breached=data.rule_breached,
        document_ref=data.document_ref,
        details={"card_recovered": data.card_recovered},
    )
    await _transition(certificate_id, "revoke", change, card=data.card_recovered)
    return await get_certificate(principal=principal, certificate_id=certificate_id)


def _check_exam(exam: schemas.ExamResultIn) -> None:
    # R-CERT-1: no certificate without a passed public legal-knowledge exam.
    if not exam.passed or exam.score < exam.pass_mark:
        raise ExamNotPassed(
            f"exam {exam.exam_id}: score {exam.score} with pass mark {exam.pass_mark} is not a pass", field="exam"
        )


def _check_validity(valid_from: datetime, valid_until: datetime) -> None:
    if valid_until <= valid_from:
        raise InvalidInput("valid_until must be after valid_from", field="valid_until")
    if clock.as_utc(valid_until) <= clock.now():
        raise InvalidInput("valid_until must be in the future", field="valid_until")


async def renew(*, principal: Principal, certificate_id: UUID, data: schemas.RenewIn) -> schemas.CertificateDetail:
    """New validity for the same holder and number; an expired certificate becomes active again."""
    row = await _managed_certificate(principal, certificate_id)
    _check_validity(data.valid_from, data.valid_until)
    updates: dict[Any, Any] = {Certificate.valid_from: data.valid_from, Certificate.valid_until: data.valid_until}
    if data.exam is not None:
        _check_exam(data.exam)
        updates.update(_exam_columns(data.exam))
    details = {
        "previous": {"valid_from": row["valid_from"].isoformat(), "valid_until": row["valid_until"].isoformat()},
        "valid_from": data.valid_from.isoformat(),
        "valid_until": data.valid_until.isoformat(),
        "exam_id": data.exam.exam_id if data.exam else None,
    }
    change = _actor(principal, "renew", reason=data.reason, document_ref=data.document_ref, details=details)
    await _transition(certificate_id, "renew", change, updates=updates)
    return await get_certificate(principal=principal, certificate_id=certificate_id)


def _exam_columns(exam: schemas.ExamResultIn) -> dict[Any, Any]:
    return {
        Certificate.exam_id: exam.exam_id,
        Certificate.exam_date: exam.exam_date,
        Certificate.exam_score: exam.score,
        Certificate.exam_pass_mark: exam.pass_mark,
    }


# --- issuing (R-CERT-1) ------------------------------------------------------------------------------


async def _holder_agency(principal: Principal, holder_id: UUID) -> dict[str, Any]:
    query = User.select(User.id, User.agency, User.agency.kind.as_alias("kind"), User.agency.domains.as_alias("domains"))
    holder = await query.where(User.id == holder_id).first()
    if holder is None or not (principal.is_justice_bureau or holder["agency"] == principal.agency_id):
        raise NotFound(f"user {holder_id} not found", field="holder_id")
    return holder


async def _agency_domains(holder: dict[str, Any]) -> set[str]:
    """Domains an agency may certify: its own, or for an entrusted body those it was entrusted with."""
    if holder["kind"] != "entrusted_organisation":
        return {str(d) for d in _json(holder["domains"], [])}
    rows = await Entrustment.select(Entrustment.domains).where(Entrustment.entrusted_agency == holder["agency"])
    return {str(d) for r in rows for d in _json(r["domains"], [])}


async def issue(*, principal: Principal, data: schemas.CertificateIn) -> schemas.CertificateDetail:
    """Issue a certificate to a user of the caller's agency (the Justice Bureau: any agency)."""
    principal.require("admin")
    _check_exam(data.exam)
    _check_validity(data.valid_from, data.valid_until)
    holder = await _holder_agency(principal, data.holder_id)
    outside = sorted(set(data.domains) - await _agency_domains(holder))
    if outside:
        raise InvalidInput(f"domains outside the agency's powers: {', '.join(outside)}", field="domains")
    certificate_id = uuid.uuid4()
    now = clock.now()
    certificate = Certificate(
        id=certificate_id,
        number=data.number,
        holder=data.holder_id,
        agency=holder["agency"],
        domains=sorted(set(data.domains)),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        photo_ref=data.photo_ref,
        qualification_review_ref=data.qualification_review_ref,
        status="active",
        created_at=now,
        updated_at=now,
    )
    for column, value in _exam_columns(data.exam).items():
        setattr(certificate, column._meta.name, value)
    details = {"exam_id": data.exam.exam_id, "score": data.exam.score, "qualification_review_ref": data.qualification_review_ref}
    async with write_transaction():
        with unique_as(f"certificate number {data.number!r} already exists", field="number"):
            await Certificate.insert(certificate)
        change = _actor(principal, "issue", reason="issued", document_ref=data.document_ref, details=details)
        await _append_event(certificate_id, change, from_status="", to_status="active")
    return await get_certificate(principal=principal, certificate_id=certificate_id)


# --- reading ------------------------------------------------------------------------------------------


def _event_out(row: dict[str, Any]) -> schemas.CertificateEventOut:
    return schemas.CertificateEventOut(
        seq=row["seq"],
        action=row["action"],
        from_status=row["from_status"],
        to_status=row["to_status"],
        reason=row["reason"],
        rule_breached=row["rule_breached"],
        document_ref=row["document_ref"],
        actor_id=row["actor"],
        actor_agency_id=row["actor_agency"],
        details=_json(row["details"], {}),
        at=clock.as_utc(row["at"]),
    )


def _maybe_utc(value: datetime | None) -> datetime | None:
    return clock.as_utc(value) if value is not None else None


def _card_out(row: dict[str, Any]) -> schemas.CardRecoveryOut:
    return schemas.CardRecoveryOut(
        id=row["id"],
        state=row["state"],
        opened_at=clock.as_utc(row["opened_at"]),
        recovered_at=_maybe_utc(row["recovered_at"]),
        handed_over_at=_maybe_utc(row["handed_over_at"]),
        disposed_at=_maybe_utc(row["disposed_at"]),
        disposition=row["disposition"],
    )


async def get_certificate(*, principal: Principal, certificate_id: UUID) -> schemas.CertificateDetail:
    row = await _managed_certificate(principal, certificate_id)
    events = await CertificateEvent.select().where(CertificateEvent.certificate == certificate_id).order_by(CertificateEvent.seq)
    cards = await CardRecovery.select().where(CardRecovery.certificate == certificate_id).order_by(CardRecovery.opened_at)
    base = msgspec.structs.asdict(_out(row, clock.now()))
    return schemas.CertificateDetail(
        **base, history=[_event_out(e) for e in events], card_recoveries=[_card_out(c) for c in cards]
    )


# --- card recovery (R-CERT-3) ---------------------------------------------------------------------

_CARD_STEPS = {"recovered": ("open",), "handed_over": ("open", "recovered"), "disposed": ("handed_over",)}


async def record_card_step(
    *, principal: Principal, certificate_id: UUID, task_id: UUID, data: schemas.CardStepIn
) -> schemas.CertificateDetail:
    """Card recovered (收回) → handed to the Justice Bureau → the Bureau's final disposition."""
    row = await _managed_certificate(principal, certificate_id)
    if data.step == "disposed" and not principal.is_justice_bureau:
        # R-CERT-3: the Justice Bureau records the final disposition.
        raise NotFound(f"card-recovery task {task_id} not found")
    now = clock.now()
    async with write_transaction():
        task = (
            await CardRecovery.select().where((CardRecovery.id == task_id) & (CardRecovery.certificate == certificate_id)).first()
        )
        if task is None:
            raise NotFound(f"card-recovery task {task_id} not found")
        if task["state"] not in _CARD_STEPS[data.step]:
            raise IllegalTransition(f"the card is {task['state']}; cannot record {data.step}", current_state=task["state"])
        await CardRecovery.update(_card_updates(data, principal.user_id, now)).where(CardRecovery.id == task_id)
        change = _actor(principal, f"card_{data.step}", reason=data.note, details={"task_id": str(task_id)})
        await _append_event(certificate_id, change, from_status=row["status"], to_status=row["status"])
    return await get_certificate(principal=principal, certificate_id=certificate_id)


def _card_updates(data: schemas.CardStepIn, actor_id: UUID, now: datetime) -> dict[Any, Any]:
    updates: dict[Any, Any] = {CardRecovery.state: data.step}
    if data.step == "recovered":
        updates |= {CardRecovery.recovered_at: now, CardRecovery.recovered_by: actor_id}
    elif data.step == "handed_over":
        updates |= {CardRecovery.handed_over_at: now, CardRecovery.handed_over_by: actor_id}
    else:
        updates |= {CardRecovery.disposed_at: now, CardRecovery.disposed_by: actor_id, CardRecovery.disposition: data.note}
    return updates


# --- listing and search ---------------------------------------------------------------------------


async def list_certificates(*, principal: Principal, query: schemas.CertificateQuery) -> schemas.CertificatePage:
    """Admin listing, scoped to the caller's agency (the Justice Bureau sees every agency)."""
    principal.require("admin")
    now = clock.now()
    where: Any = Certificate.id.is_not_null()
    if not principal.is_justice_bureau:
        where &= Certificate.agency == principal.agency_id
    where &= _status_filter(query.status, now)
    if query.expiring_within_days is not None:
        horizon = now + timedelta(days=query.expiring_within_days)
        where &= (Certificate.status == "active") & (Certificate.valid_until > now) & (Certificate.valid_until <= horizon)
    if query.q:
        where &= _text_match(f"%{query.q}%")
    rows = await Certificate.select(*_CERT_COLUMNS).where(where).order_by(Certificate.valid_until).order_by(Certificate.number)
    found = [_row(r) for r in rows]
    # Domains live in a JSON list; the agency-scoped set is small, so the filter runs here.
    if query.domain:
        found = [r for r in found if query.domain in r["domains"]]
    page = found[query.offset : query.offset + query.limit]
    return schemas.CertificatePage(items=[_out(r, now) for r in page], total=len(found), limit=query.limit, offset=query.offset)


def _text_match(pattern: str) -> Any:
    # SQLite's LIKE is already case-insensitive for ASCII and Piccolo warns on ILIKE there.
    if is_postgres():
        return Certificate.number.ilike(pattern) | Certificate.holder.full_name.ilike(pattern)
    return Certificate.number.like(pattern) | Certificate.holder.full_name.like(pattern)


def _status_filter(status: str | None, now: datetime) -> Any:
    if status is None:
        return Certificate.id.is_not_null()
    if status == "active":
        return (Certificate.status == "active") & (Certificate.valid_until > now)
    if status == "expired":
        return (Certificate.status == "active") & (Certificate.valid_until <= now)
    return Certificate.status == status


# --- the phone's credential (issue 4 §3) ----------------------------------------------------------


async def own_certificate(*, principal: Principal, certificate_id: UUID) -> dict[str, Any]:
    rows = await _certificates((Certificate.id == certificate_id) & (Certificate.holder == principal.user_id))
    if not rows:
        raise NotFound(f"certificate {certificate_id} not found")
    return rows[0]


async def issue_credential(
    *, keys: KeyRing, principal: Principal, certificate_id: UUID, ttl_s: int, verify_url: str
) -> schemas.CredentialOut:
    """A short-lived signed token (≤ 24 h) the phone shows as text or QR code.

    Only a certificate that verifies now gets a credential: a suspended officer cannot show
    a fresh token. Verification still answers the current status for older tokens.
    """
    row = await own_certificate(principal=principal, certificate_id=certificate_id)
    now = clock.now()
    reason = _refusal(row, now)
    if reason is not None:
        raise _NOT_VALID.get(reason, CertificateNotValid)(f"certificate {row['number']} is {reason}", reason=reason)
    issued = int(now.timestamp())
    expires = issued + min(ttl_s, CREDENTIAL_MAX_TTL_S)
    claims = {
        "iss": CREDENTIAL_ISSUER,
        "aud": CREDENTIAL_AUDIENCE,
        "sub": str(row["id"]),
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "typ": "certificate",
        # What the printed card shows, so an offline verifier with the JWKS sees it too.
        "cno": row["number"],
        "hnm": row["holder_name"],
        "agn": row["agency_name"],
        "dom": row["domains"],
        "vfr": int(row["valid_from"].timestamp()),
        "vto": int(row["valid_until"].timestamp()),
    }
    token = keys.sign_jwt(claims)
    return schemas.CredentialOut(
        token=token,
        kid=keys.kid,
        issued_at=datetime.fromtimestamp(issued, UTC),
        expires_at=datetime.fromtimestamp(expires, UTC),
        verify_url=f"{verify_url}?{urlencode({'token': token})}",
    )


# --- public verification (issue 4 §4) -------------------------------------------------------------


def _credential_claims(keys: KeyRing, token: str) -> tuple[dict[str, Any] | None, bool]:
    """(claims, expired) of a credential token; (None, False) when it is not ours or tampered."""
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        key = keys.public_key_for(kid) if isinstance(kid, str) and header.get("alg") == ALGORITHM else None
        if key is None:
            return None, False  # never fetch an unknown key (no jku/x5u)
        options: Any = {"require": _TOKEN_CLAIMS, "verify_exp": False}
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=CREDENTIAL_AUDIENCE, issuer=CREDENTIAL_ISSUER, options=options
        )
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if lifetime > CREDENTIAL_MAX_TTL_S or claims.get("typ") != "certificate":
            return None, False
        return claims, int(claims["exp"]) <= int(clock.now().timestamp())
    except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
        return None, False


async def verify_public(*, keys: KeyRing, token: str) -> schemas.PublicVerification:
    """Answer the CURRENT status behind a credential; "invalid" for anything we did not sign."""
    now = clock.now()
    claims, expired = _credential_claims(keys, token)
    rows = await _certificates(Certificate.id == _uuid_or_none(claims["sub"])) if claims else []
    if claims is None or not rows or rows[0]["number"] != claims.get("cno"):
        return schemas.PublicVerification(result="invalid", valid=False, checked_at=now)
    row = rows[0]
    reason = _refusal(row, now)
    result: Any = "token_expired" if expired else (reason or "valid")
    return schemas.PublicVerification(
        result=result,
        valid=result == "valid",
        checked_at=now,
        certificate_no=row["number"],
        holder_name=row["holder_name"],
        agency_name=row["agency_name"],
        domains=row["domains"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        status=lifecycle.effective_status(stored=row["status"], valid_until=row["valid_until"], at=now),
        token_issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
    )


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None
