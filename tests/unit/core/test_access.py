"""The access kernel decides from parts alone (backend/core/access.py)."""

from __future__ import annotations

import uuid

import pytest

from backend.core.access import On, Part, agency_parts, authorize, foreign_parts, parts_in, rule
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.field.rules import NotAssigned


def _person(*roles: str, kind: str = "enforcement_agency") -> Principal:
    return Principal(user_id=uuid.uuid4(), username="u", agency_id=uuid.uuid4(), agency_kind=kind, roles=roles)


def test_a_write_never_admits_the_read_only_overseers() -> None:
    with pytest.raises(ValueError, match="only read"):
        rule("case.add-record", Part.HANDLER, Part.JUSTICE, writes=True)
    assert Part.JUSTICE in rule("case.read", Part.JUSTICE, writes=False, on=On.CASE).parts


def test_a_colleague_without_the_part_gets_the_rules_refusal() -> None:
    found = rule("case.add-record", Part.HANDLER, writes=True, on=On.CASE, refusal=NotAssigned)
    authorize(frozenset({Part.SIGNED_IN, Part.HANDLER}), found)
    with pytest.raises(NotAssigned) as refused:
        authorize(frozenset({Part.SIGNED_IN, Part.OFFICER}), found, hidden="case 1")
    assert refused.value.extra["needs"] == ["handler"]


def test_a_caller_holding_only_cross_agency_parts_is_told_nothing_exists() -> None:
    found = rule("case.add-record", Part.HANDLER, writes=True, on=On.CASE)
    for parts in (frozenset(), frozenset({Part.JUSTICE, Part.REGISTRAR}), frozenset({Part.ENTRUSTING})):
        with pytest.raises(NotFound):
            authorize(parts, found, hidden="case 1")


def test_the_justice_bureaus_admin_holds_the_registry_powers_abroad_and_only_its_roles_at_home() -> None:
    justice = _person("admin", kind="justice_bureau")
    assert agency_parts(justice) == {Part.SIGNED_IN, Part.ADMIN, Part.REGISTRAR}
    assert foreign_parts(justice) == {Part.JUSTICE, Part.REGISTRAR}
    assert parts_in(justice, uuid.uuid4()) == {Part.JUSTICE, Part.REGISTRAR}  # never ADMIN of another agency
    officer = _person("officer")
    assert foreign_parts(officer) == frozenset()
    assert parts_in(officer, officer.agency_id) == {Part.SIGNED_IN, Part.OFFICER}


def test_a_public_rule_admits_everybody() -> None:
    authorize(frozenset(), rule("public.read", Part.PUBLIC, writes=False))
