"""Bodies of the decisions area (money is always integer fen): the shared field types, the
content of a benchmark item as drafts are judged against it, and the decision's own bodies.
The standing-rules endpoints' bodies are in ``standards_schemas.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.field.action_schemas import CoverageReportOut

Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Text = Annotated[str, Meta(min_length=1, max_length=4000)]
LongText = Annotated[str, Meta(min_length=1, max_length=20000)]
OptionalText = Annotated[str, Meta(max_length=4000)]
# 10^13 fen = 100 billion yuan: far above any county fine, far below int64.
Fen = Annotated[int, Meta(ge=0, le=10**13)]
Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]

PenaltyKind = Literal[
    "warning",
    "fine",
    "confiscate_gains",
    "confiscate_property",
    "licence_suspension",
    "licence_downgrade",
    "licence_revocation",
    "suspend_business",
    "closure",
    "practice_restriction",
    "detention",
    "other",
]
ReviewOutcome = Literal["passed", "not_passed", "returned"]
ServiceMethod = Literal["direct", "left_at_address", "post", "electronic", "entrusted", "announcement"]
PartyRight = Literal["statement", "defence", "hearing"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


# --- a benchmark's violation items (R-DISC-1..3) ---------------------------------------------


class Circumstance(Strict, kw_only=True):
    code: Code
    text: Text
    legal_basis: OptionalText = ""


class PenaltyKindRule(Strict, kw_only=True):
    """R-DISC-3: a penalty kind the item allows and the condition for choosing it."""

    kind: PenaltyKind
    condition: Text


class FineRange(Strict, kw_only=True):
    """The statutory range of a ranged (money) penalty."""

    min_fen: Fen
    max_fen: Fen


class Tier(Strict, kw_only=True):
    """R-DISC-2: a tier with its criteria and penalty benchmark."""

    code: Code
    name: Name
    criteria: Text
    # Codes of the item's ``factors`` that place a case in this tier.
    factors: Annotated[list[Code], Meta(max_length=50)] = []
    penalty_kinds: Annotated[list[PenaltyKind], Meta(min_length=1, max_length=12)]
    fine_min_fen: Fen | None = None
    fine_max_fen: Fen | None = None
    penalty_benchmark: OptionalText = ""


class ViolationItem(Strict, kw_only=True):
    code: Code
    name: Name
    violated_provision: Text
    penalty_provision: Text
    penalty_kinds: Annotated[list[PenaltyKindRule], Meta(min_length=1, max_length=12)]
    fine_range: FineRange | None = None
    tiers: Annotated[list[Tier], Meta(max_length=10)] = []
    factors: Annotated[list[Circumstance], Meta(max_length=100)] = []
    no_penalty: Annotated[list[Circumstance], Meta(max_length=100)] = []
    lighter: Annotated[list[Circumstance], Meta(max_length=100)] = []
    mitigated: Annotated[list[Circumstance], Meta(max_length=100)] = []
    heavier: Annotated[list[Circumstance], Meta(max_length=100)] = []


# --- decisions ------------------------------------------------------------------------------


class PenaltyIn(Strict, kw_only=True):
    kind: PenaltyKind
    amount_fen: Fen | None = None
    detail: OptionalText = ""


class DraftIn(Strict, kw_only=True):
    """A full draft; every save is a new immutable version with its own SHA-256."""

    benchmark_id: UUID
    item_code: Code
    circumstances: Annotated[list[Code], Meta(max_length=100)] = []
    penalties: Annotated[list[PenaltyIn], Meta(max_length=12)] = []
    facts: LongText
    reasons: LongText
    legal_basis: Text
    # R-DISC-5: required when the outcome leaves the proposed tier.
    deviation_reason: OptionalText = ""
    # R-DISC-4: on conflicting norms, the basis and rule used (higher/special/newer).
    conflict_rule_note: OptionalText = ""


class Proposal(msgspec.Struct, kw_only=True):
    """What the benchmark proposes for the recorded circumstances (R-DISC-3)."""

    outcome: Literal["no_penalty", "penalty"]
    tier_code: str
    tier_name: str
    fine_min_fen: int | None
    fine_max_fen: int | None
    penalty_kinds: list[str]
    applied: dict[str, list[str]]
    adjustment: Literal["none", "lighter", "heavier", "mitigated", "balanced"]


class Deviation(msgspec.Struct, kw_only=True):
    deviates: bool
    reasons: list[str]


class ComparableDecision(msgspec.Struct, kw_only=True):
    decision_id: UUID
    decision_no: str | None
    issued_at: datetime | None
    tier_code: str
    fine_total_fen: int
    penalty_kinds: list[str]
    deviated: bool


class MajorMatch(msgspec.Struct, kw_only=True):
    category: str
    reason: str
    catalog_entry_id: UUID | None


class ReviewOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("reviewer_id",)
    id: UUID
    decision_id: UUID
    version: int
    draft_sha256: str
    reviewer_id: UUID
    outcome: str
    opinion: str
    reviewed_at: datetime
    current: bool
    reviewer_name: str | None = None
    reviewer_role: str | None = None


class NoticeOut(msgspec.Struct, kw_only=True):
    id: UUID
    decision_id: UUID
    based_on_version: int
    facts: str
    reasons: str
    legal_basis: str
    rights: list[str]
    answer_days: int
    answer_day_kind: str
    generated_at: datetime
    served_at: datetime | None
    service_method: str
    recipient: str
    proof_evidence_id: UUID | None
    answer_deadline: datetime | None
    waived_at: datetime | None
    waiver_evidence_id: UUID | None
    hearing_requested: bool
    # The deadline counts weekends only until the Justice Bureau loads the holiday notice of a
    # year it reaches into (backend/org/calendar.py); it is recomputed then.
    answer_deadline_provisional: bool = False
    # R-DISC-7: what the current draft adds to what this notice told the party; when not
    # empty, a new notice is needed before the decision issues.
    outdated_by: list[str] = []


class DecisionOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("approver_id",)
    id: UUID
    case_id: UUID
    agency_id: UUID
    status: str
    version: int
    draft_sha256: str
    benchmark_id: UUID
    benchmark_version: int
    item_code: str
    tier_code: str
    draft: DraftIn
    proposal: Proposal
    deviation: Deviation
    major: bool
    major_matches: list[MajorMatch]
    fine_total_fen: int
    decision_no: str | None
    approver_id: UUID | None
    issued_at: datetime | None
    separation_warnings: list[str]
    disclosure: str
    restriction_kind: str
    restriction_reason: str
    created_at: datetime
    updated_at: datetime
    approver_name: str | None = None
    approver_role: str | None = None


class DraftView(msgspec.Struct, kw_only=True):
    decision: DecisionOut
    comparable: list[ComparableDecision]


class ReviewIn(Strict, kw_only=True):
    draft_sha256: Sha256
    outcome: ReviewOutcome
    opinion: Text


class NoticeIn(Strict, kw_only=True):
    """Generate the written notice from the current draft (R-DISC-7)."""

    rights: Annotated[list[PartyRight], Meta(min_length=1, max_length=3)] = msgspec.field(
        default_factory=lambda: ["statement", "defence"]
    )


class NoticeServiceIn(Strict, kw_only=True):
    served_at: datetime
    method: ServiceMethod
    recipient: Name
    proof_evidence_id: UUID
    hearing_requested: bool = False


class NoticeWaiverIn(Strict, kw_only=True):
    """The party waives the remaining answer period in writing."""

    waiver_evidence_id: UUID
    note: OptionalText = ""


class IssueIn(Strict, kw_only=True):
    decision_no: Annotated[str, Meta(min_length=1, max_length=100)]
    draft_sha256: Sha256
    disclosure: Literal["public", "restricted"] = "public"
    restriction_kind: Literal["", "state_secret", "work_secret", "commercial_secret", "personal_privacy"] = ""
    restriction_reason: OptionalText = ""


# --- recusal of decision roles and collective discussion (R-RCS-2/3/5) ------------------------

DeclarationCapacity = Literal["handler", "reviewer", "approver", "discussion_member"]
RecusalGround = Literal["direct_interest", "close_relative", "other_relationship"]


class DeclarationIn(Strict, kw_only=True):
    """The caller's declaration on all three grounds (R-RCS-1) for a case."""

    capacity: DeclarationCapacity
    conflict: bool
    ground: RecusalGround | None = None
    statement: OptionalText = ""


class DeclarationOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    id: UUID
    case_id: UUID
    user_id: UUID
    capacity: str
    conflict: bool
    ground: str
    statement: str
    declared_at: datetime
    user_name: str | None = None
    user_role: str | None = None


class DiscussionIn(Strict, kw_only=True):
    held_at: datetime
    participant_ids: Annotated[list[UUID], Meta(min_length=2, max_length=50)]
    minutes: LongText
    outcome: Text


class DiscussionOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("participant_ids",)
    id: UUID
    decision_id: UUID
    held_at: datetime
    participant_ids: list[UUID]
    minutes: str
    outcome: str
    recorded_at: datetime
    participant_names: list[str | None] | None = None
    participant_roles: list[str | None] | None = None


class HearingIn(Strict, kw_only=True):
    host_id: UUID
    held_at: datetime
    minutes: LongText
    record_evidence_id: UUID | None = None


class HearingOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("host_id",)
    id: UUID
    decision_id: UUID
    host_id: UUID
    held_at: datetime
    minutes: str
    record_evidence_id: UUID | None
    separation_warnings: list[str]
    host_name: str | None = None
    host_role: str | None = None


class EvidenceHashStatus(msgspec.Struct, kw_only=True):
    """R-LEGAL-5: one evidence item of the case and whether its bytes match its SHA-256:
    ``verified`` (on arrival, or by the latest re-hash), ``mismatch`` or ``not_checked``."""

    evidence_id: UUID
    action_id: UUID | None
    kind: str
    sha256: str
    size: int
    captured_at: datetime
    received_at: datetime
    hash_status: Literal["verified", "mismatch", "not_checked"]
    checked_by: Literal["arrival", "re_hash"] | None = None
    checked_at: datetime | None = None
    problems: list[str] = []


class ActionCoverage(msgspec.Struct, kw_only=True):
    """R-LEGAL-5 / R-REC-4: an action of the case and its stored audio-video coverage reports
    (oldest first; the last is current). ``coverage`` sums it up: ``complete``, ``incomplete``,
    ``no_report`` (audio-video required, nothing reported yet) or ``not_required``."""

    action_id: UUID
    kind: str
    state: str
    requires_av: bool
    coverage: Literal["complete", "incomplete", "no_report", "not_required"]
    reports: list[CoverageReportOut]


class DecisionRoleOut(msgspec.Struct, kw_only=True):
    """Who held which role on the decision (R-FAULT-3: appended, never edited)."""

    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    user_id: UUID
    role: str
    assigned_at: datetime
    user_name: str | None = None
    user_role: str | None = None


class DeclarationState(msgspec.Struct, kw_only=True):
    """R-RCS-5: whether a person who handled, discussed, reviewed or approved has declared."""

    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    user_id: UUID
    state: str  # "declared", or what blocks the person (``case_facts.recusal_problem``)
    user_name: str | None = None
    user_role: str | None = None


class ReviewBundle(msgspec.Struct, kw_only=True):
    """R-LEGAL-5: what the legal reviewer sees for one exact draft version."""

    decision: DecisionOut
    notice: NoticeOut | None
    # R-DISC-7: what the current draft adds to what the notice told the party (empty: it holds).
    notice_outdated_by: list[str]
    reviews: list[ReviewOut]
    comparable: list[ComparableDecision]
    roles: list[DecisionRoleOut]
    discussions: list[DiscussionOut]
    case: dict[str, object]
    evidence: list[EvidenceHashStatus]
    coverage: list[ActionCoverage]
    # The same declarations as ``case.declarations``, each with the person's name and role.
    declarations: list[DeclarationState] = []


class PublicDecision(msgspec.Struct, kw_only=True):
    decision_no: str
    issued_at: datetime
    item_code: str
    penalty_kinds: list[str]
    fine_total_fen: int
