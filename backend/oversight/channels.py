"""Complaint channels (R-CMP-1): an agency takes complaints only once it has designated a unit
and published a phone number, an e-mail address and a postal address."""

from __future__ import annotations

import re
import uuid
from typing import Any
from uuid import UUID

from piccolo.columns import Column

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import InvalidInput
from backend.core.rows import fetch_all, fetch_one
from backend.ledger.service import append_event
from backend.org.tables import Unit
from backend.oversight import rules, schemas
from backend.oversight.errors import ComplaintsNotOpen
from backend.oversight.tables import ComplaintChannel

_COLUMNS = (
    ComplaintChannel.agency.as_alias("agency_id"),
    ComplaintChannel.agency.name.as_alias("agency_name"),
    ComplaintChannel.unit.as_alias("unit_id"),
    ComplaintChannel.unit.name.as_alias("unit_name"),
    ComplaintChannel.phone,
    ComplaintChannel.email,
    ComplaintChannel.postal_address,
    ComplaintChannel.published_at,
)


async def channel_of(agency_id: UUID) -> schemas.ChannelOut | None:
    query = ComplaintChannel.select(*_COLUMNS).where(ComplaintChannel.agency == agency_id)
    return await fetch_one(schemas.ChannelOut, query)


async def require_open(agency_id: UUID) -> schemas.ChannelOut:
    channel = await channel_of(agency_id)
    if channel is None:
        raise ComplaintsNotOpen(f"agency {agency_id} takes no complaints yet: its complaint channels are not published")
    return channel


async def published_channels() -> list[schemas.ChannelOut]:
    """Every live agency's channels (public)."""
    return await fetch_all(schemas.ChannelOut, ComplaintChannel.select(*_COLUMNS).order_by(ComplaintChannel.published_at))


async def own_channel(*, principal: Principal) -> schemas.ChannelOut:
    authorize(agency_parts(principal), rules.CHANNEL_READ)
    return await require_open(principal.agency_id)


_PHONE = re.compile(r"^[0-9+()\- ]{5,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_form(data: schemas.ChannelIn) -> None:
    """Each published channel must be usable: a dialable number, an address one can mail."""
    if not _PHONE.match(data.phone):
        raise InvalidInput("the complaint phone is not a phone number", field="phone")
    if not _EMAIL.match(data.email):
        raise InvalidInput("the complaint e-mail is not an e-mail address", field="email")
    if len(data.postal_address.strip()) < 5:
        raise InvalidInput("the postal address for complaint letters is missing", field="postal_address")


async def publish_channel(*, principal: Principal, data: schemas.ChannelIn) -> schemas.ChannelOut:
    """R-CMP-1: designate the unit and publish the three channels (a change republishes)."""
    authorize(agency_parts(principal), rules.CHANNEL_PUBLISH)
    check_form(data)
    unit_found = await Unit.exists().where((Unit.id == data.unit_id) & (Unit.agency == principal.agency_id))
    if not unit_found:
        raise InvalidInput(f"unit {data.unit_id} is not a unit of your agency", field="unit_id")
    now = clock.now()
    values: dict[Column | str, Any] = {
        ComplaintChannel.unit: data.unit_id,
        ComplaintChannel.phone: data.phone,
        ComplaintChannel.email: data.email,
        ComplaintChannel.postal_address: data.postal_address,
        ComplaintChannel.published_by: principal.user_id,
        ComplaintChannel.published_at: now,
    }
    async with write_transaction():
        existing = await ComplaintChannel.exists().where(ComplaintChannel.agency == principal.agency_id)
        if existing:
            await ComplaintChannel.update(values).where(ComplaintChannel.agency == principal.agency_id)
        else:
            row = ComplaintChannel(
                id=uuid.uuid4(),
                agency=principal.agency_id,
                unit=data.unit_id,
                phone=data.phone,
                email=data.email,
                postal_address=data.postal_address,
                published_by=principal.user_id,
                published_at=now,
            )
            await ComplaintChannel.insert(row)
        await append_event(
            event="complaint.channel_published",
            actor_id=principal.user_id,
            agency_id=principal.agency_id,
            subject_type="agency",
            subject_id=str(principal.agency_id),
            details={
                "unit_id": str(data.unit_id),
                "phone": data.phone,
                "email": data.email,
                "postal_address": data.postal_address,
            },
        )
    return await require_open(principal.agency_id)
