"""Request and response bodies of the field workflow shared by every room: the common field
types, cases (officers, records, stages) and recusal. Action bodies are in
``action_schemas.py``, the phone's devices, manifests and screens in ``phone_schemas.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

CaseKind = Literal["penalty", "coercion", "inspection", "licensing", "levy", "confirmation"]
Stage = Literal["initiation", "investigation", "review_decision", "service_execution", "archived"]
STAGES: tuple[Stage, ...] = ("initiation", "investigation", "review_decision", "service_execution", "archived")
OfficerRole = Literal["lead", "assisting"]
CaseFunction = Literal["filing", "investigation", "hearing", "decision"]
# R-RCS-1: the three grounds.
RecusalGround = Literal["direct_interest", "close_relative", "other_relationship"]

Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Title = Annotated[str, Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, Meta(max_length=255)]
LongText = Annotated[str, Meta(min_length=1, max_length=4000)]
OptionalLongText = Annotated[str, Meta(max_length=4000)]
DeviceId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
# Resident identity numbers (18), passports, unified social credit codes (18).
IdNumber = Annotated[str, Meta(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


class GeoPoint(Strict, kw_only=True):
    latitude: Annotated[float, Meta(ge=-90, le=90)]
    longitude: Annotated[float, Meta(ge=-180, le=180)]
    accuracy_m: Annotated[float, Meta(ge=0, le=100_000)]


# --- cases ------------------------------------------------------------------------------


class PartyIn(Strict, kw_only=True):
    kind: Literal["person", "organisation"]
    name: Title
    id_number: IdNumber | None = None


class OfficerAssignmentIn(Strict, kw_only=True):
    user_id: UUID
    role: OfficerRole
    function: CaseFunction = "investigation"


class CaseDeclarationIn(Strict, kw_only=True):
    """The caller's own declaration on the three recusal grounds for a case (R-RCS-1/2)."""

    id: UUID | None = None
    conflict: bool
    ground: RecusalGround | None = None
    statement: OptionalLongText = ""


class CaseIn(Strict, kw_only=True):
    id: UUID | None = None
    kind: CaseKind
    title: Title
    matter: Code
    domain: Code
    legal_basis: LongText
    party: PartyIn
    location: ShortText = ""
    officers: Annotated[list[OfficerAssignmentIn], Meta(min_length=1, max_length=50)]
    # R-RCS-2: the caller's declaration, made as they open the case they lead; the other
    # officers declare on the case and are assigned afterwards.
    declaration: CaseDeclarationIn | None = None


class CaseOfficerOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    id: UUID
    user_id: UUID
    role: str
    function: str
    removed: bool
    removed_reason: str
    assigned_at: datetime
    user_name: str | None = None
    user_role: str | None = None


class CaseOut(msgspec.Struct, kw_only=True):
    id: UUID
    reference: str
    agency_id: UUID
    acting_agency_id: UUID
    entrustment_id: UUID | None
    kind: str
    title: str
    matter: str
    domain: str
    legal_basis: str
    party_kind: str
    party_name: str
    party_id_masked: str
    location: str
    stage: str
    stage_entered_at: datetime
    archived_at: datetime | None
    created_at: datetime
    officers: list[CaseOfficerOut]
    separation_warnings: list[str] = []


class StageAdvanceIn(Strict, kw_only=True):
    to_stage: Stage


class CaseRecordIn(Strict, kw_only=True):
    """A record filed in the current stage: a file (its evidence, e.g. a photographed or scanned
    document) or a capture of the case; a title alone is no record (R-REC-1)."""

    id: UUID | None = None
    kind: Literal["document", "capture"] = "document"
    title: Title
    evidence_id: UUID


class CaseRecordOut(msgspec.Struct, kw_only=True):
    id: UUID
    case_id: UUID
    stage: str
    kind: str
    title: str
    evidence_id: UUID | None
    created_at: datetime


# --- recusal ---------------------------------------------------------------------------


class RecusalIn(Strict, kw_only=True):
    id: UUID
    conflict: bool
    ground: RecusalGround | None = None
    statement: OptionalLongText = ""
    device_time: datetime | None = None


class RecusalOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    id: UUID
    case_id: UUID
    action_id: UUID | None
    user_id: UUID
    conflict: bool
    ground: str
    statement: str
    server_time: datetime
    device_time: datetime | None
    user_name: str | None = None
    user_role: str | None = None


class RecusalRequestIn(Strict, kw_only=True):
    id: UUID | None = None
    target_user_id: UUID
    raised_by_kind: Literal["party", "officer", "other"]
    raised_by_name: Title
    ground: RecusalGround
    reasons: LongText


class RecusalDecisionIn(Strict, kw_only=True):
    upheld: bool
    reasons: LongText


class RecusalRequestOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("target_user_id", "decided_by")
    id: UUID
    case_id: UUID
    target_user_id: UUID
    raised_by_kind: str
    raised_by_name: str
    ground: str
    reasons: str
    status: str
    decided_by: UUID | None
    decision_reasons: str
    decided_at: datetime | None
    created_at: datetime
    target_user_name: str | None = None
    target_user_role: str | None = None
    decided_by_name: str | None = None
    decided_by_role: str | None = None
