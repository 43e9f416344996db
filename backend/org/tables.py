"""Organisation model (R-AGY): agencies, units, posts, users, entrustments, sessions."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
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


class Agency(Table, tablename="org_agency"):
    """County government, Justice Bureau, enforcement agencies and entrusted organisations."""

    id = UUID(primary_key=True)
    code = Varchar(length=64, unique=True)
    name = Varchar(length=200)
    kind = Varchar(length=32)
    # R-AGY-1: owns cases only while confirmed, with the announcement reference.
    subject_status = Varchar(length=16, default="pending")
    announcement_no = Varchar(length=100, default="")
    announcement_date = Date(null=True, default=None)
    domains = JSON(default=[])
    matters = JSON(default=[])
    separation_mode = Varchar(length=8, default="warn")
    min_checked_in_officers = Integer(default=2)
    created_at = Timestamptz()


class Unit(Table, tablename="org_unit"):
    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    name = Varchar(length=200)
    kind = Varchar(length=32, default="general")


class Post(Table, tablename="org_post"):
    id = UUID(primary_key=True)
    unit = ForeignKey(Unit, on_delete=OnDelete.restrict)
    name = Varchar(length=200)
    duties = JSON(default=[])


class User(Table, tablename="org_user"):
    id = UUID(primary_key=True)
    username = Varchar(length=64, unique=True)
    password_hash = Varchar(length=255)
    full_name = Varchar(length=100)
    staff_no = Varchar(length=32, default="")
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    post = ForeignKey(Post, null=True, on_delete=OnDelete.restrict)
    roles = JSON(default=[])
    # R-LEGAL-2: legal professional qualification of reviewers.
    legal_qualification_no = Varchar(length=64, default="")
    legal_qualification_date = Date(null=True, default=None)
    active = Boolean(default=True)
    # Bumped on disable/role change so existing tokens stop working at once.
    security_version = Integer(default=1)
    created_at = Timestamptz()


class Entrustment(Table, tablename="org_entrustment"):
    """R-AGY-5: an entrusting agency lets an organisation act in its name on listed matters."""

    id = UUID(primary_key=True)
    entrusting_agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    entrusted_agency = ForeignKey(Agency, on_delete=OnDelete.restrict)
    legal_basis = Text()
    matters = JSON(default=[])
    domains = JSON(default=[])
    # The letter's wording of the authority; ``action_kinds`` is what it allows, typed (R-AGY-5).
    authority = Text(default="")
    action_kinds = JSON(default=[])
    valid_from = Timestamptz()
    valid_until = Timestamptz()
    letter_ref = Varchar(length=255)
    status = Varchar(length=16, default="active")
    created_at = Timestamptz()


class RefreshToken(Table, tablename="org_refresh_token"):
    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.restrict)
    family = Varchar(length=36, index=True)
    token_hash = Varchar(length=64, unique=True)
    issued_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked = Boolean(default=False)


class LoginFailure(Table, tablename="org_login_failure"):
    """Failed logins, kept in the database so every API process sees the same count."""

    id = UUID(primary_key=True)
    username = Varchar(length=64, index=True)
    client_address = Varchar(length=64, index=True)
    at = Timestamptz()


class StatutoryYear(Table, tablename="org_statutory_year"):
    """The State Council's holiday notice for a year the calendar package does not cover.

    Loaded by the Justice Bureau (``backend/org/calendar.py``): the year's public holidays and
    make-up working days as ISO dates; a loaded year prevails over the package.
    """

    id = UUID(primary_key=True)
    year = Integer(unique=True)
    notice_ref = Varchar(length=200)
    holidays = JSON(default=[])
    makeup_workdays = JSON(default=[])
    loaded_by = UUID(null=True, default=None)
    loaded_at = Timestamptz()


TABLES: list[type[Table]] = [Agency, Unit, Post, User, Entrustment, RefreshToken, LoginFailure, StatutoryYear]
