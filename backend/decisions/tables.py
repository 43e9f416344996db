"""Tables of the `decisions` area: discretion benchmarks, major-decision catalog, legal
reviewers, decision drafts and their immutable versions, written notices, legal reviews.

Cases are referenced by UUID (``case_id``): the case table belongs to the field-workflow
area and every access to a case goes through its service (agency scoping, roles).
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from backend.org.tables import Agency, Unit, User


class Benchmark(Table, tablename="dec_benchmark"):
    """R-DISC-1: one version of an agency's discretion benchmark for one matter.

    ``items`` holds the violation items (tiers, penalty kinds, circumstance lists) as
    JSON; a published version is never changed, a new version is created instead.
    """

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    matter = Varchar(length=64, index=True)
    version = Integer()
    title = Varchar(length=200)
    adopting_document = Varchar(length=500)
    effective_from = Date()
    effective_until = Date(null=True, default=None)
    items = JSON(default=[])
    status = Varchar(length=16, default="draft")
    created_by = ForeignKey(User, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
    published_at = Timestamptz(null=True, default=None)
    published_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)


class MajorCatalogEntry(Table, tablename="dec_major_catalog_entry"):
    """R-LEGAL-3: an item of the agency's major-decision catalog (责任制 Art.20)."""

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    category = Varchar(length=40)
    # The penalty kinds the entry makes major, each with its own threshold where it has an
    # amount: [{"kind": "fine", "threshold_fen": 10000000}]; item_codes narrows the entry
    # to those violation items. Both listed: both must hold (R-LEGAL-3, as the agency set it).
    penalties = JSON(default=[])
    item_codes = JSON(default=[])
    description = Text(default="")
    legal_basis = Text(default="")
    active = Boolean(default=True)
    created_by = ForeignKey(User, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
    retired_at = Timestamptz(null=True, default=None)


class AnswerPeriodRule(Table, tablename="dec_answer_period_rule"):
    """R-DISC-7: the party's answer period after notice, configured per penalty kind."""

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    penalty_kind = Varchar(length=40)
    days = Integer()
    day_kind = Varchar(length=16, default="calendar")
    updated_at = Timestamptz()


class LegalReviewer(Table, tablename="dec_legal_reviewer"):
    """R-LEGAL-1/2: a designated member of the agency's legal-review unit."""

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    unit = ForeignKey(Unit, on_delete=OnDelete.restrict)
    user = ForeignKey(User, on_delete=OnDelete.restrict)
    # Existing reviewers without the national exam migrate with evidence of prior review work.
    reviewing_since = Date(null=True, default=None)
    reviewing_since_evidence = Text(default="")
    designated_by = ForeignKey(User, on_delete=OnDelete.restrict)
    designated_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class Decision(Table, tablename="dec_decision"):
    """An administrative decision on a case: draft, review, notice, issue."""

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    case_id = UUID(index=True)
    benchmark = ForeignKey(Benchmark, on_delete=OnDelete.restrict)
    item_code = Varchar(length=64, index=True)
    tier_code = Varchar(length=64, default="")
    status = Varchar(length=24, default="draft")
    version = Integer(default=1)
    draft_sha256 = Varchar(length=64)
    major = Boolean(default=False)
    major_matches = JSON(default=[])
    fine_total_fen = BigInt(default=0)
    penalty_kinds = JSON(default=[])
    deviated = Boolean(default=False)
    created_by = ForeignKey(User, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    decision_no = Varchar(length=100, null=True, default=None, unique=True)
    approver = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    issued_at = Timestamptz(null=True, default=None)
    separation_warnings = JSON(default=[])
    # R-DISC-9: results are public unless restricted for a stated reason.
    disclosure = Varchar(length=16, default="public")
    restriction_kind = Varchar(length=32, default="")
    restriction_reason = Text(default="")


class DecisionVersion(Table, tablename="dec_decision_version"):
    """Every draft version, immutable: a review binds to one of these by SHA-256."""

    id = UUID(primary_key=True)
    decision = ForeignKey(Decision, on_delete=OnDelete.restrict)
    version = Integer()
    content = JSON()
    sha256 = Varchar(length=64, index=True)
    created_by = ForeignKey(User, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class WrittenNotice(Table, tablename="dec_written_notice"):
    """R-DISC-7: notice of facts, reasons, basis and rights, and its service."""

    id = UUID(primary_key=True)
    decision = ForeignKey(Decision, on_delete=OnDelete.restrict)
    based_on_version = Integer()
    facts = Text()
    reasons = Text()
    legal_basis = Text()
    rights = JSON(default=[])
    answer_days = Integer()
    answer_day_kind = Varchar(length=16, default="calendar")
    generated_by = ForeignKey(User, on_delete=OnDelete.restrict)
    generated_at = Timestamptz()
    served_at = Timestamptz(null=True, default=None)
    service_method = Varchar(length=32, default="")
    recipient = Varchar(length=200, default="")
    proof_evidence_id = UUID(null=True, default=None)
    served_recorded_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    answer_deadline = Timestamptz(null=True, default=None)
    # Counted on weekends only while a year it reaches into is not loaded; recomputed when it is.
    answer_deadline_provisional = Boolean(default=False)
    waived_at = Timestamptz(null=True, default=None)
    waiver_evidence_id = UUID(null=True, default=None)
    waiver_note = Text(default="")
    hearing_requested = Boolean(default=False)


class LegalReview(Table, tablename="dec_legal_review"):
    """R-LEGAL-4/5: one review of one exact draft version. Never updated, never deleted."""

    id = UUID(primary_key=True)
    decision = ForeignKey(Decision, on_delete=OnDelete.restrict)
    version = Integer()
    draft_sha256 = Varchar(length=64)
    reviewer = ForeignKey(User, on_delete=OnDelete.restrict)
    outcome = Varchar(length=16)
    opinion = Text()
    reviewed_at = Timestamptz()


class DecisionRole(Table, tablename="dec_decision_role"):
    """R-FAULT-3: immutable role assignments on a decision (drafter, reviewer, approver…)."""

    id = UUID(primary_key=True)
    decision = ForeignKey(Decision, on_delete=OnDelete.restrict)
    user = ForeignKey(User, on_delete=OnDelete.restrict)
    role = Varchar(length=24)
    assigned_at = Timestamptz()


class DecisionDeclaration(Table, tablename="dec_recusal_declaration"):
    """R-RCS-2/3: a case-level recusal declaration by a handler, reviewer, approver or
    discussion member (the field workflow records the per-action ones). Immutable."""

    id = UUID(primary_key=True)
    case_id = UUID(index=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    user = ForeignKey(User, on_delete=OnDelete.restrict)
    capacity = Varchar(length=24)
    conflict = Boolean()
    ground = Varchar(length=32, default="")
    statement = Text(default="")
    declared_at = Timestamptz()


class CollectiveDiscussion(Table, tablename="dec_collective_discussion"):
    """R-RCS-2: a collective discussion of the decision; every participant has declared."""

    id = UUID(primary_key=True)
    decision = ForeignKey(Decision, on_delete=OnDelete.restrict)
    held_at = Timestamptz()
    participants = JSON(default=[])
    minutes = Text()
    outcome = Text()
    recorded_by = ForeignKey(User, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz()


class Hearing(Table, tablename="dec_hearing"):
    """A hearing the party asked for after notice; held by someone other than the
    investigators where the agency separates functions (R-DISC-8)."""

    id = UUID(primary_key=True)
    decision = ForeignKey(Decision, on_delete=OnDelete.restrict)
    host = ForeignKey(User, on_delete=OnDelete.restrict)
    held_at = Timestamptz()
    minutes = Text()
    record_evidence_id = UUID(null=True, default=None)
    recorded_by = ForeignKey(User, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz()


TABLES: list[type[Table]] = [
    Benchmark,
    MajorCatalogEntry,
    AnswerPeriodRule,
    LegalReviewer,
    Decision,
    DecisionVersion,
    WrittenNotice,
    LegalReview,
    DecisionRole,
    DecisionDeclaration,
    CollectiveDiscussion,
    Hearing,
]
