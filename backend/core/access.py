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
Parts are of two kinds: the caller's roles *in the agency that owns the object*
(``agency_parts``), and relations to the object itself (handler, participant, self,
entrusting agency, Justice Bureau). A caller with no part at all in another agency's object
never learns it exists: that is a 404, decided by the domain before ``authorize``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from backend.core.auth import Principal
from backend.core.errors import Forbidden, NotFound

ACCESS_OPT = "fieldproof_access"


class Part(StrEnum):
    """A caller's relation to the object a route touches."""

    PUBLIC = "public"  # no sign-in at all (public verification, published standards)
    SIGNED_IN = "signed_in"  # any signed-in person, within their own agency
    OFFICER = "officer"  # an officer of the agency owning the object (role, no case part)
    HANDLER = "handler"  # a case officer (lead 主办 / assisting 协办) of this case
    PARTICIPANT = "participant"  # a planned participant of this action (and a handler of its case)
    SUPERVISOR = "supervisor"  # a supervisor of the agency owning the object
    LEGAL_REVIEWER = "legal_reviewer"  # a legal reviewer of the agency owning the object
    ADMIN = "admin"  # an admin of the agency owning the object
    ENTRUSTING = "entrusting"  # the entrusting agency of an entrusted case (read-only, R-AGY-6)
    JUSTICE = "justice"  # the county Justice Bureau (read-only across agencies, R-SUP-2)
    # The Justice Bureau's (or county government's) admin: the certificate (R-CERT) and
    # agency-registry (R-AGY-1) powers the rules give it across agencies, nothing else.
    REGISTRAR = "registrar"
    SELF = "self"  # the person the object is about (own certificate, own devices)


# Parts a caller may hold in another agency's object; only reads admit the first two.
CROSS_AGENCY = frozenset({Part.ENTRUSTING, Part.JUSTICE, Part.REGISTRAR})
READ_ONLY = frozenset({Part.ENTRUSTING, Part.JUSTICE})
REGISTRAR_KINDS = ("justice_bureau", "county_government")


class On(StrEnum):
    """What a route's object is, so the route-table walk knows which parts each caller holds."""

    NOTHING = "nothing"  # public, or the caller's own agency as a whole (lists, creating)
    CASE = "case"  # a case or what belongs to it (record, decision, evidence, custody)
    ACTION = "action"  # an on-site action of a case
    PERSON = "person"  # a person of an agency: user, certificate, device, upload
    AGENCY = "agency"  # an object an agency holds, named by id (a benchmark, a catalog entry)


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """An act and who may do it. ``writes`` rules never admit ENTRUSTING or JUSTICE reads."""

    name: str  # stable slug, e.g. "case.add-record"
    parts: frozenset[Part]
    writes: bool
    on: On = On.NOTHING
    # Why a cross-agency reader reads (ledgered with the read, R-SUP-2 / R-AGY-6).
    purpose: str = ""
    # The refusal a denied caller gets (a Forbidden subclass with its own slug).
    refusal: type[Forbidden] = Forbidden


def rule(
    name: str,
    *parts: Part,
    writes: bool,
    on: On = On.NOTHING,
    purpose: str = "",
    refusal: type[Forbidden] = Forbidden,
) -> Rule:
    if writes and parts and frozenset(parts) & READ_ONLY:
        raise ValueError(f"{name}: the entrusting agency and the Justice Bureau only read")
    return Rule(name=name, parts=frozenset(parts), writes=writes, on=on, purpose=purpose, refusal=refusal)


def declared(found: Rule, **opt: Any) -> dict[str, Any]:
    """The ``opt`` mapping a route handler carries so the route table states its rule."""
    return {ACCESS_OPT: found, **opt}


def rule_of(opt: dict[str, Any]) -> Rule | None:
    value = opt.get(ACCESS_OPT)
    return value if isinstance(value, Rule) else None


def allows(found: Rule, parts: frozenset[Part]) -> bool:
    return Part.PUBLIC in found.parts or bool(found.parts & parts)


_ROLE_PARTS = {"officer": Part.OFFICER, "supervisor": Part.SUPERVISOR, "legal_reviewer": Part.LEGAL_REVIEWER, "admin": Part.ADMIN}


def agency_parts(principal: Principal) -> frozenset[Part]:
    """The parts a person holds in anything of their own agency, from their roles alone."""
    parts = {Part.SIGNED_IN, *(_ROLE_PARTS[r] for r in principal.roles if r in _ROLE_PARTS)}
    if principal.has("admin") and principal.agency_kind in REGISTRAR_KINDS:
        parts.add(Part.REGISTRAR)
    return frozenset(parts)


def foreign_parts(principal: Principal) -> frozenset[Part]:
    """The parts a person holds in another agency's object without a relation to it."""
    parts: set[Part] = set()
    if principal.is_justice_bureau:
        parts.add(Part.JUSTICE)
    if principal.has("admin") and principal.agency_kind in REGISTRAR_KINDS:
        parts.add(Part.REGISTRAR)
    return frozenset(parts)


def parts_in(principal: Principal, owner_agency_id: Any) -> frozenset[Part]:
    """Parts for an object of ``owner_agency_id`` (roles at home, the registry's powers abroad)."""
    return agency_parts(principal) if owner_agency_id == principal.agency_id else foreign_parts(principal)


def authorize(parts: frozenset[Part], found: Rule, *, hidden: str = "") -> None:
    """Refuse when none of the caller's parts is one the rule admits.

    The caller has already been shown the object (it is in their agency, or they read it
    across agencies by right). A caller holding only cross-agency parts that the rule does
    not admit gets the 404 of ``hidden`` (the object's name): another agency's object is
    never a 403 (docs/DEVELOPING.md).
    """
    if allows(found, parts):
        return
    if hidden and not (parts - CROSS_AGENCY):
        raise NotFound(f"{hidden} not found")
    wanted = ", ".join(sorted(p.value for p in found.parts))
    raise found.refusal(
        f"{found.name}: this needs one of these parts in the matter: {wanted}",
        rule=found.name,
        needs=sorted(p.value for p in found.parts),
    )


# Routes anybody may call: public verification and standards, operations probes, signing in.
PUBLIC = rule("public.read", Part.PUBLIC, writes=False)
