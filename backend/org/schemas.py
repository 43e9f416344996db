"""Request and response bodies of the organisation area."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

Role = Literal["officer", "supervisor", "legal_reviewer", "admin"]
AgencyKind = Literal["county_government", "justice_bureau", "enforcement_agency", "entrusted_organisation"]
Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, Meta(max_length=255)]
# The kinds of on-site act (the field workflow's actions). Named here because an entrustment
# says which of them it allows (R-AGY-5); ``backend.field.action_schemas`` uses the same list.
ActionKind = Literal["inspection", "investigation", "seal_up", "impound", "forced_demolition", "service", "other"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


class LoginIn(Strict, kw_only=True):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class RefreshIn(Strict, kw_only=True):
    refresh_token: Annotated[str, Meta(min_length=16, max_length=256)]


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


class UnlockOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    user_id: UUID
    failures_cleared: int
    user_name: str | None = None
    user_role: str | None = None


class AgencyIn(Strict, kw_only=True):
    code: Code
    name: Name
    kind: AgencyKind
    subject_status: Literal["pending", "confirmed"] = "pending"
    announcement_no: ShortText = ""
    announcement_date: date | None = None
    domains: Annotated[list[Code], Meta(max_length=50)] = []
    matters: Annotated[list[Code], Meta(max_length=500)] = []
    separation_mode: Literal["warn", "block"] = "warn"
    min_checked_in_officers: Annotated[int, Meta(ge=1, le=20)] = 2


class AgencyConfirmationIn(Strict, kw_only=True):
    """R-AGY-1: the county government's confirmation of an enforcement subject, as announced."""

    announcement_no: Annotated[str, Meta(min_length=1, max_length=100)]
    announcement_date: date


class AgencyOut(msgspec.Struct, kw_only=True):
    id: UUID
    code: str
    name: str
    kind: str
    subject_status: str
    announcement_no: str
    announcement_date: date | None
    domains: list[str]
    matters: list[str]
    separation_mode: str
    min_checked_in_officers: int


class UserIn(Strict, kw_only=True):
    username: Annotated[str, Meta(min_length=2, max_length=64, pattern=r"^[a-zA-Z0-9_.-]+$")]
    password: Annotated[str, Meta(min_length=8, max_length=256)]
    full_name: Name
    staff_no: Annotated[str, Meta(max_length=32)] = ""
    roles: Annotated[list[Role], Meta(min_length=1, max_length=4)]
    agency_id: UUID | None = None
    post_id: UUID | None = None
    legal_qualification_no: Annotated[str, Meta(max_length=64)] = ""
    legal_qualification_date: date | None = None


class UserPatch(Strict, kw_only=True):
    full_name: Name | None = None
    roles: Annotated[list[Role], Meta(min_length=1, max_length=4)] | None = None
    active: bool | None = None
    post_id: UUID | None = None


class UserOut(msgspec.Struct, kw_only=True):
    id: UUID
    username: str
    full_name: str
    staff_no: str
    agency_id: UUID
    post_id: UUID | None
    roles: list[str]
    active: bool
    legal_qualification_no: str
    legal_qualification_date: date | None


class UnitIn(Strict, kw_only=True):
    name: Name
    kind: Literal["general", "legal_review", "complaint", "enforcement"] = "general"


class UnitOut(msgspec.Struct, kw_only=True):
    id: UUID
    agency_id: UUID
    name: str
    kind: str


class PostIn(Strict, kw_only=True):
    unit_id: UUID
    name: Name
    duties: Annotated[list[Annotated[str, Meta(max_length=500)]], Meta(max_length=100)] = []


class PostOut(msgspec.Struct, kw_only=True):
    id: UUID
    unit_id: UUID
    name: str
    duties: list[str]


class EntrustmentIn(Strict, kw_only=True):
    entrusted_agency_id: UUID
    legal_basis: Annotated[str, Meta(min_length=1, max_length=2000)]
    matters: Annotated[list[Code], Meta(min_length=1, max_length=200)]
    domains: Annotated[list[Code], Meta(min_length=1, max_length=50)]
    # R-AGY-5: the acts the entrusted body may perform on those matters, typed; ``authority``
    # keeps the letter's own wording.
    action_kinds: Annotated[list[ActionKind], Meta(min_length=1, max_length=7)]
    authority: Annotated[str, Meta(max_length=2000)] = ""
    valid_from: datetime
    valid_until: datetime
    letter_ref: Annotated[str, Meta(min_length=1, max_length=255)]


class EntrustmentOut(msgspec.Struct, kw_only=True):
    id: UUID
    entrusting_agency_id: UUID
    entrusted_agency_id: UUID
    legal_basis: str
    matters: list[str]
    domains: list[str]
    action_kinds: list[str]
    authority: str
    valid_from: datetime
    valid_until: datetime
    letter_ref: str
    status: str
