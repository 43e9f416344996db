"""Who may do what: one declaration per rule, read by the route table and enforced by the service.

A rule names the roles *and* the parts in the case that allow an act (issue "field
integrity", point 1). The same ``Rule`` object is

- declared on the route (``opt=declared(RULE)``), so a test can walk the app's route table
  and check every route against every kind of caller, and a route without a declaration
  fails that test;
- enforced in the service (``authorize(parts_of_caller, RULE)``), so the phone,
  the office and the CLI reach the rule the same way.

The kernel knows nothing of cases: the domain computes the caller's ``Parts`` for the object
at hand (``backend.field.relations`` for cases and actions) and this module only decides.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from backend.core.errors import Forbidden

ACCESS_OPT = "fieldproof_access"


class Part(StrEnum):
    """A caller's relation to the object a route touches."""

    PUBLIC = "public"  # no sign-in at all (public verification, published standards)
    SIGNED_IN = "signed_in"  # any signed-in person, within their own agency
    HANDLER = "handler"  # a case officer (lead 主办 / assisting 协办) of this case
    PARTICIPANT = "participant"  # a planned participant of this action
    SUPERVISOR = "supervisor"  # a supervisor of the agency owning the object
    LEGAL_REVIEWER = "legal_reviewer"  # a legal reviewer of the agency owning the object
    ADMIN = "admin"  # an admin of the agency owning the object
    ENTRUSTING = "entrusting"  # the entrusting agency of an entrusted case (read-only, R-AGY-6)
    JUSTICE = "justice"  # the county Justice Bureau (read-only across agencies, R-SUP-2)
    SELF = "self"  # the person the object is about (own sessions, own devices)


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """An act and who may do it. ``writes`` rules never admit ENTRUSTING or JUSTICE reads."""

    name: str  # stable slug, e.g. "case.add-record"
    parts: frozenset[Part]
    writes: bool
    # Why a cross-agency reader reads (ledgered with the read, R-SUP-2 / R-AGY-6).
    purpose: str = ""


def rule(name: str, *parts: Part, writes: bool, purpose: str = "") -> Rule:
    return Rule(name=name, parts=frozenset(parts), writes=writes, purpose=purpose)


def declared(found: Rule, **opt: Any) -> dict[str, Any]:
    """The ``opt`` mapping a route handler carries so the route table states its rule."""
    return {ACCESS_OPT: found, **opt}


def rule_of(opt: dict[str, Any]) -> Rule | None:
    value = opt.get(ACCESS_OPT)
    return value if isinstance(value, Rule) else None


def allows(found: Rule, parts: frozenset[Part]) -> bool:
    return bool(found.parts & parts)


def authorize(parts: frozenset[Part], found: Rule) -> None:
    """Refuse with 403 when none of the caller's parts is one the rule admits.

    The caller has already been shown the object (it is in their agency, or they read it
    across agencies by right); an object they may not see at all is a 404 before this.
    """
    if not allows(found, parts):
        wanted = ", ".join(sorted(p.value for p in found.parts))
        raise Forbidden(
            f"{found.name}: this needs one of these parts in the matter: {wanted}",
            rule=found.name,
            needs=sorted(p.value for p in found.parts),
        )
