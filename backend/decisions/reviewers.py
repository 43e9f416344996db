"""The agency's legal reviewers: members of its legal-review unit (R-LEGAL-1/2), designated,
revoked, counted against the officers, and checked again at the moment of review.
"""

from __future__ import annotations

import uuid
from datetime import date
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.decisions import standards_schemas
from backend.decisions.rules import REVIEWERS_CHANGE, STANDARDS_CHANGE
from backend.decisions.tables import LegalReview, LegalReviewer
from backend.org.tables import Unit, User

# R-LEGAL-1: reviewers "in principle" not fewer than 5 % of the agency's officers.
REQUIRED_REVIEWER_RATIO = 0.05
_REVIEWER_COLUMNS = (
    LegalReviewer.id,
    LegalReviewer.user.as_alias("user_id"),
    LegalReviewer.unit.as_alias("unit_id"),
    LegalReviewer.user.full_name.as_alias("full_name"),
    LegalReviewer.user.legal_qualification_no.as_alias("legal_qualification_no"),
    LegalReviewer.reviewing_since,
    LegalReviewer.designated_at,
)


class NotALegalReviewer(Forbidden):
    slug = "not-a-legal-reviewer"
    title = "Only designated members of the agency's legal-review unit may review"


class LegalQualificationMissing(Forbidden):
    slug = "legal-qualification-missing"
    title = "A first-time legal reviewer needs a recorded legal professional qualification"


class _Unit(msgspec.Struct, kw_only=True):
    id: UUID
    kind: str


class _Person(msgspec.Struct, kw_only=True):
    """What a reviewer's designation and review read of the user."""

    full_name: str
    roles: list[str]
    active: bool
    legal_qualification_no: str
    legal_qualification_date: date | None

    @property
    def qualified(self) -> bool:
        return bool(self.legal_qualification_no) and self.legal_qualification_date is not None


class _Designation(msgspec.Struct, kw_only=True):
    reviewing_since: date | None
    reviewing_since_evidence: str


class _Roles(msgspec.Struct, kw_only=True):
    roles: list[str]


async def _has_review_record(user_id: UUID) -> bool:
    count: int = await LegalReview.count().where(LegalReview.reviewer == user_id)
    return count > 0


async def designate_reviewer(
    *, principal: Principal, data: standards_schemas.ReviewerDesignationIn
) -> standards_schemas.ReviewerOut:
    authorize(agency_parts(principal), STANDARDS_CHANGE)
    unit = await fetch_one(_Unit, Unit.select().where((Unit.id == data.unit_id) & (Unit.agency == principal.agency_id)))
    if unit is None:
        raise NotFound(f"unit {data.unit_id} not found", field="unit_id")
    if unit.kind != "legal_review":
        raise InvalidInput("reviewers belong to the agency's legal-review unit (kind legal_review)", field="unit_id")
    user = await fetch_one(_Person, User.select().where((User.id == data.user_id) & (User.agency == principal.agency_id)))
    if user is None:
        raise NotFound(f"user {data.user_id} not found", field="user_id")
    if "legal_reviewer" not in user.roles or not user.active:
        raise InvalidInput("the user must be active and hold the legal_reviewer role", field="user_id")
    migrated = data.reviewing_since is not None and bool(data.reviewing_since_evidence.strip())
    if not user.qualified and not migrated and not await _has_review_record(data.user_id):
        # R-LEGAL-2: no prior review record → the national legal qualification is required.
        raise LegalQualificationMissing(
            "the user has no prior review record and no recorded legal professional qualification", field="user_id"
        )
    return await _insert_designation(principal, data, unit_id=unit.id, user=user)


async def _insert_designation(
    principal: Principal, data: standards_schemas.ReviewerDesignationIn, *, unit_id: UUID, user: _Person
) -> standards_schemas.ReviewerOut:
    active = (LegalReviewer.user == data.user_id) & LegalReviewer.revoked_at.is_null()
    designation_id = uuid.uuid4()
    now = clock.now()
    async with write_transaction():
        if await LegalReviewer.count().where(active) > 0:
            raise Conflict("the user is already a designated legal reviewer", field="user_id")
        await LegalReviewer.insert(
            LegalReviewer(
                id=designation_id,
                agency=principal.agency_id,
                unit=unit_id,
                user=data.user_id,
                reviewing_since=data.reviewing_since,
                reviewing_since_evidence=data.reviewing_since_evidence,
                designated_by=principal.user_id,
                designated_at=now,
            )
        )
    return standards_schemas.ReviewerOut(
        id=designation_id,
        user_id=data.user_id,
        unit_id=unit_id,
        full_name=user.full_name,
        legal_qualification_no=user.legal_qualification_no,
        reviewing_since=data.reviewing_since,
        designated_at=now,
    )


async def revoke_reviewer(*, principal: Principal, user_id: UUID) -> None:
    scope = (LegalReviewer.user == user_id) & (LegalReviewer.agency == principal.agency_id) & LegalReviewer.revoked_at.is_null()
    if await LegalReviewer.count().where(scope) == 0:
        raise NotFound(f"user {user_id} is not a designated legal reviewer")
    authorize(agency_parts(principal), REVIEWERS_CHANGE)  # after the lookup: another agency's person is a 404
    await LegalReviewer.update({LegalReviewer.revoked_at: clock.now()}).where(scope)


async def list_reviewers(*, agency_id: UUID) -> list[standards_schemas.ReviewerOut]:
    query = LegalReviewer.select(*_REVIEWER_COLUMNS).where(
        (LegalReviewer.agency == agency_id) & LegalReviewer.revoked_at.is_null() & (LegalReviewer.user.active == True)  # noqa: E712
    )
    return await fetch_all(standards_schemas.ReviewerOut, query)


async def reviewer_ratio(*, agency_id: UUID) -> standards_schemas.ReviewerRatio:
    """R-LEGAL-1: reviewers ÷ officers, warned (never blocked) below 5 % ("原则上")."""
    reviewers = len(await list_reviewers(agency_id=agency_id))
    users = await fetch_all(_Roles, User.select(User.roles).where((User.agency == agency_id) & (User.active == True)))  # noqa: E712
    officers = sum(1 for u in users if "officer" in u.roles)
    ratio = reviewers / officers if officers else 0.0
    below = officers > 0 and ratio < REQUIRED_REVIEWER_RATIO
    note = (
        f"{reviewers} reviewer(s) for {officers} officer(s): below the 5 % the rules require in principle"
        if below
        else f"{reviewers} reviewer(s) for {officers} officer(s)"
    )
    return standards_schemas.ReviewerRatio(
        agency_id=agency_id,
        reviewers=reviewers,
        officers=officers,
        ratio=round(ratio, 4),
        required_ratio=REQUIRED_REVIEWER_RATIO,
        below_required=below,
        note=note,
    )


async def ensure_may_review(*, principal: Principal) -> None:
    """R-LEGAL-1/2 at the moment of review, not only at designation."""
    principal.require("legal_reviewer")
    scope = (
        (LegalReviewer.user == principal.user_id)
        & (LegalReviewer.agency == principal.agency_id)
        & LegalReviewer.revoked_at.is_null()
    )
    designation = await fetch_one(_Designation, LegalReviewer.select().where(scope))
    if designation is None:
        raise NotALegalReviewer("the caller is not a designated member of the agency's legal-review unit")
    user = await fetch_one(_Person, User.select().where(User.id == principal.user_id))
    assert user is not None
    migrated = designation.reviewing_since is not None and bool(designation.reviewing_since_evidence)
    if not user.qualified and not migrated and not await _has_review_record(principal.user_id):
        raise LegalQualificationMissing("a first review needs a recorded legal professional qualification")
