"""Verification at check-in (R-CERT-4, R-CERT-6, R-AGY-5).

``verify_for_action`` is the one function every check-in path calls (R-CERT-4): it judges
each certificate of the holder against the acting agency, the domain and the matter, and
signs a snapshot of the answer (certificates/signing.py), refusals included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.keys import KeyRing
from backend.core.rows import fetch_one
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from backend.org.tables import Agency, User
from certificates import reading, schemas
from certificates.reading import CertificateRow
from certificates.signing import sign_snapshot
from certificates.tables import Certificate


class _Verdict(msgspec.Struct, kw_only=True):
    row: CertificateRow
    reason: str | None
    acting_agency_id: UUID | None = None
    entrustment_id: UUID | None = None


class _Name(msgspec.Struct, kw_only=True):
    name: str


_Entrustments = dict[UUID, list[org_schemas.EntrustmentOut]]


async def _acting_agency(
    row: CertificateRow, *, acting_agency_id: UUID, domain: str, matter: str | None, at: datetime, seen: _Entrustments
) -> tuple[str | None, UUID | None]:
    """In whose name the holder may act for ``acting_agency_id``: (refusal, entrustment id).

    ``seen`` keeps the entrustments already read in this check: several certificates of the
    same entrusted organisation read them once.
    """
    entrusted = row.agency_kind == "entrusted_organisation"
    if row.agency == acting_agency_id:
        # R-AGY-5 / R-CERT-6: an entrusted organisation never acts in its own name.
        return ("agency_mismatch", None) if entrusted else (None, None)
    if not entrusted:
        return "agency_mismatch", None
    found = seen.get(row.agency)
    if found is None:
        found = seen[row.agency] = await org_service.active_entrustments(entrusted_agency_id=row.agency, at=at)
    mine = [e for e in found if e.entrusting_agency_id == acting_agency_id]
    if not mine:
        return "agency_mismatch", None
    for entrustment in mine:
        # R-AGY-5: only the entrusted matters and domains, within the term (active_entrustments).
        if domain in entrustment.domains and (matter is None or matter in entrustment.matters):
            return None, entrustment.id
    return "domain_not_covered", None


async def _judge(
    row: CertificateRow, *, acting_agency_id: UUID, domain: str, matter: str | None, at: datetime, seen: _Entrustments
) -> _Verdict:
    reason, entrustment_id = await _acting_agency(
        row, acting_agency_id=acting_agency_id, domain=domain, matter=matter, at=at, seen=seen
    )
    if reason is None and domain not in row.domains:
        reason = "domain_not_covered"
    if reason is None:
        # R-CERT-2: only an active certificate within its validity verifies.
        reason = reading.refusal(row, at)
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
    holder_name: str | None,
    user_id: UUID,
    acting_name: str | None,
    domain: str,
    matter: str | None,
    at: datetime,
) -> dict[str, Any]:
    """The signed JSON body of the answer; its keys are what stored snapshots already hold."""
    row = verdict.row if verdict else None
    return {
        "allowed": verdict is not None and verdict.reason is None,
        "reason": verdict.reason if verdict else "not_found",
        "checked_at": at.isoformat(),
        "holder_id": str(user_id),
        "holder_name": holder_name,
        "certificate_id": str(row.id) if row else None,
        "certificate_no": row.number if row else None,
        "status": reading.status(row, at) if row else None,
        "valid_from": row.valid_from.isoformat() if row else None,
        "valid_until": row.valid_until.isoformat() if row else None,
        "domains": row.domains if row else [],
        "issuing_agency_id": str(row.agency) if row else None,
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
    rows = await reading.certificates(Certificate.holder == user_id)
    if rows:
        holder_name: str | None = rows[0].holder_name
    else:
        holder = await fetch_one(_Name, User.select(User.full_name.as_alias("name")).where(User.id == user_id))
        holder_name = holder.name if holder else None
    seen: _Entrustments = {}
    verdicts = [await _judge(r, acting_agency_id=acting_agency_id, domain=domain, matter=matter, at=at, seen=seen) for r in rows]
    verdict = _best(verdicts)
    acting_name = await _acting_name(verdict)
    snapshot = _snapshot(
        verdict, holder_name=holder_name, user_id=user_id, acting_name=acting_name, domain=domain, matter=matter, at=at
    )
    return schemas.CertificateCheck(
        allowed=snapshot["allowed"],
        reason=snapshot["reason"],
        certificate_id=verdict.row.id if verdict else None,
        certificate_no=verdict.row.number if verdict else None,
        acting_agency_id=verdict.acting_agency_id if verdict else None,
        snapshot=snapshot,
        snapshot_token=await sign_snapshot(keys, snapshot),
    )


async def _acting_name(verdict: _Verdict | None) -> str | None:
    if verdict is None or verdict.acting_agency_id is None:
        return None
    if verdict.acting_agency_id == verdict.row.agency:
        return verdict.row.agency_name  # acting in the issuing agency's own name
    agency = await fetch_one(_Name, Agency.select(Agency.name).where(Agency.id == verdict.acting_agency_id))
    return agency.name if agency else None
