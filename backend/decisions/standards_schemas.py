"""Bodies of the standing-rules endpoints: benchmarks, the major-decision catalog, answer
periods and legal reviewers (money is always integer fen)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.decisions.schemas import (
    Code,
    Fen,
    Name,
    OptionalText,
    PenaltyKind,
    Strict,
    ViolationItem,
)

# R-LEGAL-3: the six items of 责任制 Art.20.
CatalogCategory = Literal[
    "large_fine",
    "large_confiscation",
    "licence_downgrade_revocation",
    "suspension_closure_restriction",
    "detention",
    "other",
]
DayKind = Literal["calendar", "working"]

# --- discretion benchmarks (R-DISC-1..3) ----------------------------------------------------


class BenchmarkIn(Strict, kw_only=True):
    matter: Code
    title: Name
    adopting_document: Annotated[str, Meta(min_length=1, max_length=500)]
    effective_from: date
    effective_until: date | None = None
    items: Annotated[list[ViolationItem], Meta(min_length=1, max_length=500)]


class BenchmarkOut(msgspec.Struct, kw_only=True):
    id: UUID
    agency_id: UUID
    matter: str
    version: int
    title: str
    adopting_document: str
    effective_from: date
    effective_until: date | None
    status: str
    items: list[ViolationItem]
    created_at: datetime
    published_at: datetime | None


class BenchmarkSummary(msgspec.Struct, kw_only=True):
    id: UUID
    agency_id: UUID
    matter: str
    version: int
    title: str
    status: str
    effective_from: date
    effective_until: date | None
    published_at: datetime | None


# --- major-decision catalog (R-LEGAL-3) -----------------------------------------------------


class CatalogPenalty(Strict, kw_only=True):
    """A penalty kind the entry makes major: an amount kind (fine, confiscation) from its own
    threshold on (0: any amount), a kind without amount whenever it is imposed."""

    kind: PenaltyKind
    threshold_fen: Fen | None = None


class CatalogEntryIn(Strict, kw_only=True):
    """An entry matches a draft that imposes one of ``penalties`` (at or above its threshold);
    ``item_codes`` narrows it to those violation items, or alone makes them major."""

    category: CatalogCategory
    penalties: Annotated[list[CatalogPenalty], Meta(max_length=12)] = []
    item_codes: Annotated[list[Code], Meta(max_length=200)] = []
    description: OptionalText = ""
    legal_basis: OptionalText = ""


class CatalogEntryOut(msgspec.Struct, kw_only=True):
    id: UUID
    agency_id: UUID
    category: str
    penalties: list[CatalogPenalty]
    item_codes: list[str]
    description: str
    legal_basis: str
    active: bool
    created_at: datetime


class AnswerPeriodIn(Strict, kw_only=True):
    penalty_kind: PenaltyKind
    days: Annotated[int, Meta(ge=0, le=60)]
    day_kind: DayKind = "calendar"


class AnswerPeriodOut(msgspec.Struct, kw_only=True):
    penalty_kind: str
    days: int
    day_kind: str
    configured: bool


# --- legal reviewers (R-LEGAL-1/2) ----------------------------------------------------------


class ReviewerDesignationIn(Strict, kw_only=True):
    user_id: UUID
    unit_id: UUID
    reviewing_since: date | None = None
    reviewing_since_evidence: OptionalText = ""


class ReviewerOut(msgspec.Struct, kw_only=True):
    id: UUID
    user_id: UUID
    unit_id: UUID
    full_name: str
    legal_qualification_no: str
    reviewing_since: date | None
    designated_at: datetime


class ReviewerRatio(msgspec.Struct, kw_only=True):
    agency_id: UUID
    reviewers: int
    officers: int
    ratio: float
    required_ratio: float
    below_required: bool
    note: str
