"""The case and action rows that the field services hand each other.

Read through ``backend.core.rows`` (``fetch_one(ActionRow, Action.select()...)``). Foreign
keys are renamed to ``<name>_id`` so a row reads like the bodies in ``schemas.py`` and
``action_schemas.py``; a module that reads a table only for itself declares its own row.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from backend.field.schemas import Stage


class CaseRow(
    msgspec.Struct,
    kw_only=True,
    rename={"agency_id": "agency", "acting_agency_id": "acting_agency", "entrustment_id": "entrustment"},
):
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
    stage: Stage
    stage_entered_at: datetime
    archived_at: datetime | None
    created_at: datetime


class ActionRow(msgspec.Struct, kw_only=True, rename={"case_id": "case", "agency_id": "agency"}):
    id: UUID
    case_id: UUID
    agency_id: UUID
    kind: str
    title: str
    planned_at: datetime
    planned_place: str
    state: str
    requires_av: bool
    coercion_reason: str
    started_at: datetime | None
    ended_at: datetime | None
    closed_at: datetime | None
