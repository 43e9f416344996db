"""Organisation rules: agencies, users, entrustments, login and token families."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal, TokenIssuer
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from backend.core.rows import fetch_all, fetch_one
from backend.ledger.service import append_event
from backend.org import rules, schemas
from backend.org.tables import Agency, Entrustment, Post, RefreshToken, Unit, User

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A valid hash to verify against when the user is unknown, so timing does not tell."""
    return _hasher.hash("not-a-real-password")


BAD_LOGIN = "username or password is wrong"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """Check a password; an unknown user (``None``) costs the same as a known one."""
    try:
        return bool(_hasher.verify(stored or _dummy_hash(), password)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


# Output Structs are read straight from rows (backend/core/rows.py); foreign keys are
# selected under their API names.
_USER_COLUMNS = (
    User.id,
    User.username,
    User.full_name,
    User.staff_no,
    User.agency.as_alias("agency_id"),
    User.post.as_alias("post_id"),
    User.roles,
    User.active,
    User.legal_qualification_no,
    User.legal_qualification_date,
)
_ENTRUSTMENT_COLUMNS = (
    Entrustment.id,
    Entrustment.entrusting_agency.as_alias("entrusting_agency_id"),
    Entrustment.entrusted_agency.as_alias("entrusted_agency_id"),
    Entrustment.legal_basis,
    Entrustment.matters,
    Entrustment.domains,
    Entrustment.action_kinds,
    Entrustment.authority,
    Entrustment.valid_from,
    Entrustment.valid_until,
    Entrustment.letter_ref,
    Entrustment.status,
)


class _PrincipalRow(msgspec.Struct, kw_only=True):
    id: UUID
    username: str
    agency: UUID
    agency_kind: str
    roles: list[str]
    security_version: int
    active: bool


# --- agencies -------------------------------------------------------------------------


async def create_agency(*, data: schemas.AgencyIn, principal: Principal | None = None) -> schemas.AgencyOut:
    """Register an agency: the Justice Bureau's or county government's admin (or the CLI)."""
    if principal is not None:
        authorize(agency_parts(principal), rules.AGENCY_REGISTER)
    if data.subject_status == "confirmed" and not (data.announcement_no and data.announcement_date):
        # R-AGY-1: confirmation needs the county government's announcement reference.
        raise InvalidInput("a confirmed agency needs announcement_no and announcement_date", field="announcement_no")
    row = {**msgspec.structs.asdict(data), "id": uuid.uuid4(), "created_at": clock.now()}
    with unique_as(f"an agency with code {data.code!r} already exists", field="code"):
        await Agency.insert(Agency(**row))
    return await get_agency(agency_id=row["id"])


async def confirm_agency(*, principal: Principal, agency_id: UUID, data: schemas.AgencyConfirmationIn) -> schemas.AgencyOut:
    """R-AGY-1: record the county government's confirmation and announcement; ledgered.

    A registry power (the Justice Bureau's or county government's admin). Sending the same
    announcement again is the same confirmation; another one for a confirmed agency is a 409.
    """
    authorize(agency_parts(principal), rules.AGENCY_REGISTER)
    agency = await get_agency(agency_id=agency_id)
    if data.announcement_date > (clock.now() + timedelta(hours=8)).date():
        raise InvalidInput("the announcement date is in the future", field="announcement_date")
    if agency.subject_status == "confirmed":
        if (agency.announcement_no, agency.announcement_date) == (data.announcement_no, data.announcement_date):
            return agency
        raise Conflict(f"agency {agency.code} is already confirmed by announcement {agency.announcement_no}")
    async with write_transaction():
        await Agency.update(
            {
                Agency.subject_status: "confirmed",
                Agency.announcement_no: data.announcement_no,
                Agency.announcement_date: data.announcement_date,
            }
        ).where(Agency.id == agency_id)
        await append_event(
            event="agency.confirmed",
            actor_id=principal.user_id,
            agency_id=agency_id,
            subject_type="agency",
            subject_id=str(agency_id),
            details={"announcement_no": data.announcement_no, "announcement_date": data.announcement_date.isoformat()},
        )
    return await get_agency(agency_id=agency_id)


async def get_agency(*, agency_id: UUID) -> schemas.AgencyOut:
    agency = await fetch_one(schemas.AgencyOut, Agency.select().where(Agency.id == agency_id))
    if agency is None:
        raise NotFound(f"agency {agency_id} not found")
    return agency


async def get_agency_by_code(*, code: str) -> schemas.AgencyOut | None:
    return await fetch_one(schemas.AgencyOut, Agency.select().where(Agency.code == code))


async def list_agencies() -> list[schemas.AgencyOut]:
    return await fetch_all(schemas.AgencyOut, Agency.select().order_by(Agency.code))


# --- units and posts (R-AGY-2) ----------------------------------------------------------


async def create_unit(*, principal: Principal, data: schemas.UnitIn) -> schemas.UnitOut:
    authorize(agency_parts(principal), rules.UNITS_CHANGE)
    unit_id = uuid.uuid4()
    await Unit.insert(Unit(id=unit_id, agency=principal.agency_id, name=data.name, kind=data.kind))
    return schemas.UnitOut(id=unit_id, agency_id=principal.agency_id, name=data.name, kind=data.kind)


async def list_units(*, principal: Principal) -> list[schemas.UnitOut]:
    rows = await Unit.select().where(Unit.agency == principal.agency_id).order_by(Unit.name)
    return [schemas.UnitOut(id=r["id"], agency_id=r["agency"], name=r["name"], kind=r["kind"]) for r in rows]


async def create_post(*, principal: Principal, data: schemas.PostIn) -> schemas.PostOut:
    authorize(agency_parts(principal), rules.UNITS_CHANGE)
    unit = await Unit.select(Unit.id).where((Unit.id == data.unit_id) & (Unit.agency == principal.agency_id)).first()
    if unit is None:
        raise NotFound(f"unit {data.unit_id} not found", field="unit_id")
    post_id = uuid.uuid4()
    await Post.insert(Post(id=post_id, unit=data.unit_id, name=data.name, duties=data.duties))
    return schemas.PostOut(id=post_id, unit_id=data.unit_id, name=data.name, duties=data.duties)


async def _post_in_agency(post_id: UUID, agency_id: UUID) -> bool:
    row = await Post.select(Post.id).where((Post.id == post_id) & (Post.unit.agency == agency_id)).first()
    return row is not None


# --- users ------------------------------------------------------------------------------


async def create_user(*, principal: Principal | None, data: schemas.UserIn) -> schemas.UserOut:
    """Create a user in the caller's agency (the CLI, without a principal, names the agency)."""
    if principal is not None:
        authorize(agency_parts(principal), rules.USER_CREATE)
    agency_id = _target_agency(principal, data.agency_id)
    await get_agency(agency_id=agency_id)
    if data.post_id is not None and not await _post_in_agency(data.post_id, agency_id):
        raise NotFound(f"post {data.post_id} not found", field="post_id")
    if "legal_reviewer" in data.roles and not (data.legal_qualification_no and data.legal_qualification_date):
        # R-LEGAL-2: a new legal reviewer needs a recorded legal professional qualification.
        raise InvalidInput("the legal_reviewer role needs a legal professional qualification", field="legal_qualification_no")
    user_id = uuid.uuid4()
    user = User(
        id=user_id,
        username=data.username,
        password_hash=hash_password(data.password),
        full_name=data.full_name,
        staff_no=data.staff_no,
        agency=agency_id,
        post=data.post_id,
        roles=sorted(set(data.roles)),
        legal_qualification_no=data.legal_qualification_no,
        legal_qualification_date=data.legal_qualification_date,
        created_at=clock.now(),
    )
    with unique_as(f"username {data.username!r} is taken", field="username"):
        await User.insert(user)
    return await get_user(principal=None, user_id=user_id)


def _target_agency(principal: Principal | None, requested: UUID | None) -> UUID:
    if principal is None:
        if requested is None:
            raise InvalidInput("agency_id is required", field="agency_id")
        return requested
    if requested is not None and requested != principal.agency_id:
        # Every agency administers its own people; the Justice Bureau too (defect 2).
        raise NotFound(f"agency {requested} not found", field="agency_id")
    return requested or principal.agency_id


async def get_user(*, principal: Principal | None, user_id: UUID) -> schemas.UserOut:
    """A user of the caller's agency (any agency without a principal); else 404."""
    query = User.select(*_USER_COLUMNS).where(User.id == user_id)
    if principal is not None:
        query = query.where(User.agency == principal.agency_id)
    user = await fetch_one(schemas.UserOut, query)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def read_user(*, principal: Principal, user_id: UUID) -> schemas.UserOut:
    """One user as the agency's admin or supervisor sees them."""
    user = await get_user(principal=principal, user_id=user_id)
    authorize(agency_parts(principal), rules.USER_READ)
    return user


async def list_users(*, principal: Principal, role: str | None = None) -> list[schemas.UserOut]:
    authorize(agency_parts(principal), rules.USERS_READ)
    users = await fetch_all(
        schemas.UserOut, User.select(*_USER_COLUMNS).where(User.agency == principal.agency_id).order_by(User.username)
    )
    return [u for u in users if role is None or role in u.roles]


async def update_user(*, principal: Principal, user_id: UUID, data: schemas.UserPatch) -> schemas.UserOut:
    current = await get_user(principal=principal, user_id=user_id)
    authorize(agency_parts(principal), rules.USER_UPDATE)
    changes: dict[Any, Any] = {}
    if data.full_name is not None:
        changes[User.full_name] = data.full_name
    if data.roles is not None:
        if "legal_reviewer" in data.roles and not current.legal_qualification_no:
            raise InvalidInput("the legal_reviewer role needs a legal professional qualification", field="roles")
        changes[User.roles] = sorted(set(data.roles))
    if data.active is not None:
        changes[User.active] = data.active
    if data.post_id is not None:
        if not await _post_in_agency(data.post_id, current.agency_id):
            raise NotFound(f"post {data.post_id} not found", field="post_id")
        changes[User.post] = data.post_id
    if changes:
        # Role or status changes end existing sessions on their next request.
        changes[User.security_version] = User.security_version + 1
        await User.update(changes).where(User.id == user_id)
    return await get_user(principal=principal, user_id=user_id)


# --- entrustments (R-AGY-5) -------------------------------------------------------------


async def create_entrustment(*, principal: Principal, data: schemas.EntrustmentIn) -> schemas.EntrustmentOut:
    authorize(agency_parts(principal), rules.ENTRUST)
    entruster = await get_agency(agency_id=principal.agency_id)
    await get_agency(agency_id=data.entrusted_agency_id)
    if data.valid_until <= data.valid_from:
        raise InvalidInput("valid_until must be after valid_from", field="valid_until")
    outside = sorted(set(data.matters) - set(entruster.matters))
    if outside:
        # R-AGY-5: only matters within the entruster's own powers-and-duties list.
        raise InvalidInput(f"matters outside the agency's powers-and-duties list: {', '.join(outside)}", field="matters")
    entrustment_id = uuid.uuid4()
    await Entrustment.insert(
        Entrustment(
            id=entrustment_id,
            entrusting_agency=principal.agency_id,
            entrusted_agency=data.entrusted_agency_id,
            legal_basis=data.legal_basis,
            matters=data.matters,
            domains=data.domains,
            action_kinds=sorted(set(data.action_kinds)),
            authority=data.authority,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            letter_ref=data.letter_ref,
            created_at=clock.now(),
        )
    )
    created = await fetch_one(
        schemas.EntrustmentOut, Entrustment.select(*_ENTRUSTMENT_COLUMNS).where(Entrustment.id == entrustment_id)
    )
    assert created is not None
    return created


async def list_entrustments(*, principal: Principal) -> list[schemas.EntrustmentOut]:
    return await fetch_all(
        schemas.EntrustmentOut,
        Entrustment.select(*_ENTRUSTMENT_COLUMNS).where(
            (Entrustment.entrusting_agency == principal.agency_id) | (Entrustment.entrusted_agency == principal.agency_id)
        ),
    )


async def active_entrustments(*, entrusted_agency_id: UUID, at: datetime) -> list[schemas.EntrustmentOut]:
    found = await fetch_all(
        schemas.EntrustmentOut,
        Entrustment.select(*_ENTRUSTMENT_COLUMNS).where(
            (Entrustment.entrusted_agency == entrusted_agency_id) & (Entrustment.status == "active")
        ),
    )
    return [e for e in found if e.valid_from <= at < e.valid_until]


async def entrusted_act_refusal(*, entrustment_id: UUID, action_kind: str, at: datetime) -> str:
    """Why an act of ``action_kind`` at ``at`` is outside the entrustment, or '' when inside.

    R-AGY-5: entrusted officers act only on its matters (checked when the case is opened),
    within its authority (the typed action kinds) and within its term, while it is active.
    """
    found = await fetch_one(
        schemas.EntrustmentOut, Entrustment.select(*_ENTRUSTMENT_COLUMNS).where(Entrustment.id == entrustment_id)
    )
    if found is None or found.status != "active":
        return f"entrustment {entrustment_id} is not active"
    if not found.valid_from <= at < found.valid_until:
        return f"at {at.isoformat()} the entrustment's term ({found.valid_from.date()} – {found.valid_until.date()}) does not run"
    if action_kind not in found.action_kinds:
        allowed = ", ".join(found.action_kinds) or "no on-site act"
        return f"the entrustment allows {allowed}, not {action_kind}"
    return ""


# --- login and tokens -------------------------------------------------------------------


async def principal_for(user_id: UUID) -> Principal:
    row = await fetch_one(
        _PrincipalRow,
        User.select(
            User.id,
            User.username,
            User.agency,
            User.agency.kind.as_alias("agency_kind"),
            User.roles,
            User.security_version,
            User.active,
        ).where(User.id == user_id),
    )
    if row is None or not row.active:
        raise Unauthorized("the account is disabled or gone")
    return _principal(row)


def _principal(row: _PrincipalRow, *, session_id: str = "") -> Principal:
    return Principal(
        user_id=row.id,
        username=row.username,
        agency_id=row.agency,
        agency_kind=row.agency_kind,
        roles=tuple(row.roles),
        security_version=row.security_version,
        session_id=session_id,
    )


async def end_sessions(*, user_id: UUID) -> None:
    """End every session of a user at once: refresh families revoked, access tokens refused."""
    async with write_transaction():
        await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.user == user_id)
        await User.update({User.security_version: User.security_version + 1}).where(User.id == user_id)


async def authenticate(*, issuer: TokenIssuer, token: str) -> Principal:
    """Verify the token, then the account and its session, in one query: a disabled user,
    changed roles, a logout or a detected refresh reuse end access at once."""
    claimed = issuer.verify(token)
    if claimed.session_id:
        current = await _session_principal(claimed)
    else:
        current = await principal_for(claimed.user_id)
    if current.security_version != claimed.security_version:
        raise Unauthorized("the session has been ended; log in again")
    return current


class _SessionRow(_PrincipalRow, kw_only=True):
    revoked: bool


async def _session_principal(claimed: Principal) -> Principal:
    # One indexed lookup of the family (org_refresh_token.family) joined to the user and
    # agency; a revoked row of the family sorts first, so LIMIT 1 sees any revocation.
    row = await fetch_one(
        _SessionRow,
        RefreshToken.select(
            RefreshToken.user.id.as_alias("id"),
            RefreshToken.user.username.as_alias("username"),
            RefreshToken.user.agency.as_alias("agency"),
            RefreshToken.user.agency.kind.as_alias("agency_kind"),  # type: ignore[union-attr]
            RefreshToken.user.roles.as_alias("roles"),
            RefreshToken.user.security_version.as_alias("security_version"),
            RefreshToken.user.active.as_alias("active"),
            RefreshToken.revoked,
        )
        .where((RefreshToken.family == claimed.session_id) & (RefreshToken.user == claimed.user_id))
        .order_by(RefreshToken.revoked, ascending=False)
        .limit(1),
    )
    if row is None or row.revoked:
        raise Unauthorized("the session has been ended (logout or refresh token re-use); log in again")
    if not row.active:
        raise Unauthorized("the account is disabled or gone")
    return _principal(row, session_id=claimed.session_id)
