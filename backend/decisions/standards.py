"""An agency's standing rules for decisions: discretion benchmarks (R-DISC-1..3, 9), the
major-decision catalog (R-LEGAL-3), answer periods (R-DISC-7) and legal reviewers
(R-LEGAL-1/2). Re-exported by ``service.py``.
"""

from __future__ import annotations

import typing
import uuid
from datetime import date
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.decisions import deadlines, discretion, schemas
from backend.decisions.tables import (
    AnswerPeriodRule,
    Benchmark,
    LegalReview,
    LegalReviewer,
    MajorCatalogEntry,
)
from backend.org.tables import Unit, User

# R-LEGAL-1: reviewers "in principle" not fewer than 5 % of the agency's officers.
REQUIRED_REVIEWER_RATIO = 0.05
# Defaults (configurable per agency and penalty kind): 5 calendar days, the hearing-request
# period of the Administrative Penalty Law Art.64; 3 for a warning (statement and defence).
DEFAULT_ANSWER_DAYS: dict[str, int] = {"warning": 3}
DEFAULT_ANSWER_DAYS_OTHER = 5
_ITEMS = msgspec.json.Decoder(list[schemas.ViolationItem])


class BenchmarkNotUsable(Conflict):
    slug = "benchmark-not-usable"
    title = "The benchmark version is not published or not in effect"


class NotALegalReviewer(Forbidden):
    slug = "not-a-legal-reviewer"
    title = "Only designated members of the agency's legal-review unit may review"


class LegalQualificationMissing(Forbidden):
    slug = "legal-qualification-missing"
    title = "A first-time legal reviewer needs a recorded legal professional qualification"


def json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = msgspec.json.decode(value or "[]")
    return list(value or [])


def county_today() -> date:
    return clock.now().astimezone(deadlines.COUNTY_TZ).date()


# --- discretion benchmarks ------------------------------------------------------------------


def _items(row: dict[str, Any]) -> list[schemas.ViolationItem]:
    raw = row["items"]
    return _ITEMS.decode(raw.encode() if isinstance(raw, str) else msgspec.json.encode(raw))


def benchmark_out(row: dict[str, Any]) -> schemas.BenchmarkOut:
    return schemas.BenchmarkOut(
        id=row["id"],
        agency_id=row["agency"],
        matter=row["matter"],
        version=row["version"],
        title=row["title"],
        adopting_document=row["adopting_document"],
        effective_from=row["effective_from"],
        effective_until=row["effective_until"],
        status=row["status"],
        items=_items(row),
        created_at=clock.as_utc(row["created_at"]),
        published_at=clock.as_utc(row["published_at"]) if row["published_at"] else None,
    )


def benchmark_summary(row: dict[str, Any]) -> schemas.BenchmarkSummary:
    return schemas.BenchmarkSummary(
        id=row["id"],
        agency_id=row["agency"],
        matter=row["matter"],
        version=row["version"],
        title=row["title"],
        status=row["status"],
        effective_from=row["effective_from"],
        effective_until=row["effective_until"],
        published_at=clock.as_utc(row["published_at"]) if row["published_at"] else None,
    )


async def create_benchmark(*, principal: Principal, data: schemas.BenchmarkIn) -> schemas.BenchmarkOut:
    """R-DISC-1: a new version (never an edit of a published one)."""
    principal.require("admin")
    if data.effective_until is not None and data.effective_until < data.effective_from:
        raise InvalidInput("effective_until is before effective_from", field="effective_until")
    discretion.check_benchmark_structure(data.items)
    benchmark_id = uuid.uuid4()
    async with write_transaction():
        latest = (
            await Benchmark.select(Benchmark.version)
            .where((Benchmark.agency == principal.agency_id) & (Benchmark.matter == data.matter))
            .order_by(Benchmark.version, ascending=False)
            .first()
        )
        await Benchmark.insert(
            Benchmark(
                id=benchmark_id,
                agency=principal.agency_id,
                matter=data.matter,
                version=(latest["version"] if latest else 0) + 1,
                title=data.title,
                adopting_document=data.adopting_document,
                effective_from=data.effective_from,
                effective_until=data.effective_until,
                items=msgspec.to_builtins(data.items),
                status="draft",
                created_by=principal.user_id,
                created_at=clock.now(),
            )
        )
    return await get_benchmark(agency_id=principal.agency_id, benchmark_id=benchmark_id)


async def publish_benchmark(*, principal: Principal, benchmark_id: UUID) -> schemas.BenchmarkOut:
    principal.require("admin")
    current = await get_benchmark(agency_id=principal.agency_id, benchmark_id=benchmark_id)
    if current.status != "draft":
        raise Conflict(f"benchmark version {current.version} is already {current.status}")
    # R-DISC-2: fewer than three tiers for a ranged penalty is refused here.
    discretion.check_publishable(current.items)
    await Benchmark.update(
        {Benchmark.status: "published", Benchmark.published_at: clock.now(), Benchmark.published_by: principal.user_id}
    ).where((Benchmark.id == benchmark_id) & (Benchmark.status == "draft"))
    return await get_benchmark(agency_id=principal.agency_id, benchmark_id=benchmark_id)


async def get_benchmark(*, agency_id: UUID, benchmark_id: UUID, published_only: bool = False) -> schemas.BenchmarkOut:
    """Any version, old ones included (R-DISC-1); the public sees published ones (R-DISC-9)."""
    query = Benchmark.select().where((Benchmark.id == benchmark_id) & (Benchmark.agency == agency_id))
    if published_only:
        query = query.where(Benchmark.status == "published")
    row = await query.first()
    if row is None:
        raise NotFound(f"benchmark {benchmark_id} not found")
    return benchmark_out(row)


async def list_benchmarks(
    *, agency_id: UUID, matter: str | None = None, published_only: bool = False
) -> list[schemas.BenchmarkSummary]:
    query = Benchmark.select().where(Benchmark.agency == agency_id)
    if matter is not None:
        query = query.where(Benchmark.matter == matter)
    if published_only:
        query = query.where(Benchmark.status == "published")
    rows = await query.order_by(Benchmark.matter).order_by(Benchmark.version, ascending=False)
    return [benchmark_summary(r) for r in rows]


async def usable_benchmark(*, agency_id: UUID, benchmark_id: UUID) -> schemas.BenchmarkOut:
    """A draft may only use a published version in effect today (R-DISC-1 effective dates)."""
    benchmark = await get_benchmark(agency_id=agency_id, benchmark_id=benchmark_id)
    today = county_today()
    if benchmark.status != "published":
        raise BenchmarkNotUsable(f"benchmark version {benchmark.version} is not published", field="benchmark_id")
    if benchmark.effective_from > today or (benchmark.effective_until is not None and benchmark.effective_until < today):
        raise BenchmarkNotUsable(f"benchmark version {benchmark.version} is not in effect on {today}", field="benchmark_id")
    return benchmark


# --- major-decision catalog (R-LEGAL-3) -----------------------------------------------------


def _catalog_out(row: dict[str, Any]) -> schemas.CatalogEntryOut:
    return schemas.CatalogEntryOut(
        id=row["id"],
        agency_id=row["agency"],
        category=row["category"],
        threshold_fen=row["threshold_fen"],
        penalty_kinds=[str(k) for k in json_list(row["penalty_kinds"])],
        item_codes=[str(c) for c in json_list(row["item_codes"])],
        description=row["description"],
        legal_basis=row["legal_basis"],
        active=bool(row["active"]),
        created_at=clock.as_utc(row["created_at"]),
    )


def _check_catalog_entry(data: schemas.CatalogEntryIn) -> None:
    if data.category in ("large_fine", "large_confiscation") and not data.threshold_fen:
        # "较大" is the agency's figure: the text sets none, so it must be stated.
        raise InvalidInput(f"{data.category} needs the agency's threshold_fen", field="threshold_fen")
    if data.category == "other" and not (data.penalty_kinds or data.item_codes):
        raise InvalidInput("an 'other' entry needs penalty_kinds or item_codes", field="item_codes")


async def add_catalog_entry(*, principal: Principal, data: schemas.CatalogEntryIn) -> schemas.CatalogEntryOut:
    principal.require("admin")
    _check_catalog_entry(data)
    entry_id = uuid.uuid4()
    await MajorCatalogEntry.insert(
        MajorCatalogEntry(
            id=entry_id,
            agency=principal.agency_id,
            category=data.category,
            threshold_fen=data.threshold_fen,
            penalty_kinds=list(data.penalty_kinds),
            item_codes=list(data.item_codes),
            description=data.description,
            legal_basis=data.legal_basis,
            created_by=principal.user_id,
            created_at=clock.now(),
        )
    )
    row = await MajorCatalogEntry.select().where(MajorCatalogEntry.id == entry_id).first()
    assert row is not None
    return _catalog_out(row)


async def retire_catalog_entry(*, principal: Principal, entry_id: UUID) -> schemas.CatalogEntryOut:
    """Entries are retired, not deleted: past decisions still cite the entry they matched."""
    principal.require("admin")
    scope = (MajorCatalogEntry.id == entry_id) & (MajorCatalogEntry.agency == principal.agency_id)
    row = await MajorCatalogEntry.select().where(scope).first()
    if row is None:
        raise NotFound(f"catalog entry {entry_id} not found")
    await MajorCatalogEntry.update({MajorCatalogEntry.active: False, MajorCatalogEntry.retired_at: clock.now()}).where(scope)
    row["active"] = False
    return _catalog_out(row)


async def list_catalog(*, agency_id: UUID, active_only: bool = True) -> list[schemas.CatalogEntryOut]:
    query = MajorCatalogEntry.select().where(MajorCatalogEntry.agency == agency_id)
    if active_only:
        query = query.where(MajorCatalogEntry.active == True)  # noqa: E712 - Piccolo column expression
    rows = await query.order_by(MajorCatalogEntry.created_at)
    return [_catalog_out(r) for r in rows]


async def catalog_rules(*, agency_id: UUID) -> list[discretion.CatalogRule]:
    return [
        discretion.CatalogRule(
            id=entry.id,
            category=entry.category,
            threshold_fen=entry.threshold_fen,
            penalty_kinds=tuple(entry.penalty_kinds),
            item_codes=tuple(entry.item_codes),
        )
        for entry in await list_catalog(agency_id=agency_id)
    ]


# --- answer periods (R-DISC-7) --------------------------------------------------------------


async def set_answer_period(*, principal: Principal, data: schemas.AnswerPeriodIn) -> schemas.AnswerPeriodOut:
    principal.require("admin")
    scope = (AnswerPeriodRule.agency == principal.agency_id) & (AnswerPeriodRule.penalty_kind == data.penalty_kind)
    async with write_transaction():
        await AnswerPeriodRule.delete().where(scope)
        await AnswerPeriodRule.insert(
            AnswerPeriodRule(
                id=uuid.uuid4(),
                agency=principal.agency_id,
                penalty_kind=data.penalty_kind,
                days=data.days,
                day_kind=data.day_kind,
                updated_at=clock.now(),
            )
        )
    return schemas.AnswerPeriodOut(penalty_kind=data.penalty_kind, days=data.days, day_kind=data.day_kind, configured=True)


async def answer_periods(*, agency_id: UUID) -> list[schemas.AnswerPeriodOut]:
    rows = await AnswerPeriodRule.select().where(AnswerPeriodRule.agency == agency_id)
    configured = {r["penalty_kind"]: r for r in rows}
    kinds: tuple[str, ...] = typing.get_args(schemas.PenaltyKind)
    out = []
    for kind in kinds:
        row = configured.get(kind)
        if row is not None:
            out.append(schemas.AnswerPeriodOut(penalty_kind=kind, days=row["days"], day_kind=row["day_kind"], configured=True))
        else:
            days = DEFAULT_ANSWER_DAYS.get(kind, DEFAULT_ANSWER_DAYS_OTHER)
            out.append(schemas.AnswerPeriodOut(penalty_kind=kind, days=days, day_kind="calendar", configured=False))
    return out


# --- legal reviewers (R-LEGAL-1, R-LEGAL-2) -------------------------------------------------


async def _has_review_record(user_id: UUID) -> bool:
    count: int = await LegalReview.count().where(LegalReview.reviewer == user_id)
    return count > 0


def _qualified(user: dict[str, Any]) -> bool:
    return bool(user["legal_qualification_no"]) and user["legal_qualification_date"] is not None


async def designate_reviewer(*, principal: Principal, data: schemas.ReviewerDesignationIn) -> schemas.ReviewerOut:
    principal.require("admin")
    unit = await Unit.select().where((Unit.id == data.unit_id) & (Unit.agency == principal.agency_id)).first()
    if unit is None:
        raise NotFound(f"unit {data.unit_id} not found", field="unit_id")
    if unit["kind"] != "legal_review":
        raise InvalidInput("reviewers belong to the agency's legal-review unit (kind legal_review)", field="unit_id")
    user = await User.select().where((User.id == data.user_id) & (User.agency == principal.agency_id)).first()
    if user is None:
        raise NotFound(f"user {data.user_id} not found", field="user_id")
    if "legal_reviewer" not in json_list(user["roles"]) or not user["active"]:
        raise InvalidInput("the user must be active and hold the legal_reviewer role", field="user_id")
    migrated = data.reviewing_since is not None and bool(data.reviewing_since_evidence.strip())
    if not _qualified(user) and not migrated and not await _has_review_record(data.user_id):
        # R-LEGAL-2: no prior review record → the national legal qualification is required.
        raise LegalQualificationMissing(
            "the user has no prior review record and no recorded legal professional qualification", field="user_id"
        )
    return await _insert_designation(principal, data, unit_id=unit["id"], user=user)


async def _insert_designation(
    principal: Principal, data: schemas.ReviewerDesignationIn, *, unit_id: UUID, user: dict[str, Any]
) -> schemas.ReviewerOut:
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
    return schemas.ReviewerOut(
        id=designation_id,
        user_id=data.user_id,
        unit_id=unit_id,
        full_name=user["full_name"],
        legal_qualification_no=user["legal_qualification_no"],
        reviewing_since=data.reviewing_since,
        designated_at=now,
    )


async def revoke_reviewer(*, principal: Principal, user_id: UUID) -> None:
    principal.require("admin")
    scope = (LegalReviewer.user == user_id) & (LegalReviewer.agency == principal.agency_id) & LegalReviewer.revoked_at.is_null()
    if await LegalReviewer.count().where(scope) == 0:
        raise NotFound(f"user {user_id} is not a designated legal reviewer")
    await LegalReviewer.update({LegalReviewer.revoked_at: clock.now()}).where(scope)


async def list_reviewers(*, agency_id: UUID) -> list[schemas.ReviewerOut]:
    rows = await LegalReviewer.select(
        *LegalReviewer.all_columns(), LegalReviewer.user.full_name, LegalReviewer.user.legal_qualification_no
    ).where((LegalReviewer.agency == agency_id) & LegalReviewer.revoked_at.is_null() & (LegalReviewer.user.active == True))  # noqa: E712
    return [
        schemas.ReviewerOut(
            id=r["id"],
            user_id=r["user"],
            unit_id=r["unit"],
            full_name=r["user.full_name"],
            legal_qualification_no=r["user.legal_qualification_no"],
            reviewing_since=r["reviewing_since"],
            designated_at=clock.as_utc(r["designated_at"]),
        )
        for r in rows
    ]


async def reviewer_ratio(*, agency_id: UUID) -> schemas.ReviewerRatio:
    """R-LEGAL-1: reviewers ÷ officers, warned (never blocked) below 5 % ("原则上")."""
    reviewers = len(await list_reviewers(agency_id=agency_id))
    users = await User.select(User.roles).where((User.agency == agency_id) & (User.active == True))  # noqa: E712
    officers = sum(1 for u in users if "officer" in json_list(u["roles"]))
    ratio = reviewers / officers if officers else 0.0
    below = officers > 0 and ratio < REQUIRED_REVIEWER_RATIO
    note = (
        f"{reviewers} reviewer(s) for {officers} officer(s): below the 5 % the rules require in principle"
        if below
        else f"{reviewers} reviewer(s) for {officers} officer(s)"
    )
    return schemas.ReviewerRatio(
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
    designation = (
        await LegalReviewer.select(LegalReviewer.reviewing_since, LegalReviewer.reviewing_since_evidence)
        .where(
            (LegalReviewer.user == principal.user_id)
            & (LegalReviewer.agency == principal.agency_id)
            & LegalReviewer.revoked_at.is_null()
        )
        .first()
    )
    if designation is None:
        raise NotALegalReviewer("the caller is not a designated member of the agency's legal-review unit")
    user = await User.select().where(User.id == principal.user_id).first()
    assert user is not None
    migrated = designation["reviewing_since"] is not None and bool(designation["reviewing_since_evidence"])
    if not _qualified(user) and not migrated and not await _has_review_record(principal.user_id):
        raise LegalQualificationMissing("a first review needs a recorded legal professional qualification")
