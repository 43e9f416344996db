"""Names beside ids: every answer that names a person also says who that is (issue 14, point 5).

An answer Struct lists the fields that hold a person's id in a class variable ``PEOPLE``;
for each such field ``X_id`` (or ``X``) it declares ``X_name`` and ``X_role`` beside it,
``None`` until filled; for a list ``X_ids`` it declares the lists ``X_names`` and ``X_roles``
(same order). ``with_names(answer)`` walks the answer (nested Structs and lists
included), reads every person it names in ONE query and fills the names in, so a page of
fifty cases with four officers each costs one lookup, not two hundred. The id fields stay
exactly as they were: clients that read ids keep working.

Names are resolved without an agency filter on purpose: the answer has already been
authorised (a supervisor's own case, the Justice Bureau's read across agencies), and an
officer must see the name of a colleague on a shared case even when that colleague is of
the entrusting agency or has since left the case.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterable
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from backend.core.rows import fetch_all
from backend.org.tables import User

T = TypeVar("T")

# The role shown beside a name when a person holds several: the function a reader of the
# answer most needs to know (a supervisor who also carries a certificate is seen as the
# supervisor), the officer role last.
ROLE_ORDER = ("supervisor", "legal_reviewer", "admin", "officer")


class PersonName(msgspec.Struct, frozen=True, kw_only=True):
    """Who a person id is: the full name and the role shown beside it."""

    id: UUID
    name: str
    role: str
    roles: list[str]


class _UserRow(msgspec.Struct, kw_only=True):
    id: UUID
    full_name: str
    roles: list[str]


def primary_role(roles: Iterable[str]) -> str:
    held = set(roles)
    return next((role for role in ROLE_ORDER if role in held), "")


async def resolve(user_ids: Iterable[UUID | None]) -> dict[UUID, PersonName]:
    """Every named person in one query; unknown ids are simply absent."""
    wanted = sorted({i for i in user_ids if i is not None}, key=str)
    if not wanted:
        return {}
    rows = await fetch_all(_UserRow, User.select(User.id, User.full_name, User.roles).where(User.id.is_in(wanted)))
    return {r.id: PersonName(id=r.id, name=r.full_name, role=primary_role(r.roles), roles=sorted(r.roles)) for r in rows}


def companions(field: str) -> tuple[str, str]:
    """The name and role fields beside a person field: ``user_id`` → ``user_name``/``user_role``,
    ``recorded_by`` → ``recorded_by_name``/…, ``participant_ids`` → ``participant_names``/…."""
    if field.endswith("_ids"):
        return f"{field[:-4]}_names", f"{field[:-4]}_roles"
    stem = field[:-3] if field.endswith("_id") else field
    return f"{stem}_name", f"{stem}_role"


@functools.cache
def _person_fields(kind: type[msgspec.Struct]) -> tuple[tuple[str, str, str], ...]:
    """(id field, name field, role field) of a Struct class; checked once per class."""
    found: list[tuple[str, str, str]] = []
    fields = set(kind.__struct_fields__)
    for id_field in getattr(kind, "PEOPLE", ()):
        name_field, role_field = companions(id_field)
        missing = {id_field, name_field, role_field} - fields
        if missing:
            raise TypeError(f"{kind.__name__}.PEOPLE names {id_field} but lacks {', '.join(sorted(missing))}")
        found.append((id_field, name_field, role_field))
    return tuple(found)


# Which Struct classes can lead to a person at all, and through which fields: decided once per
# class from its type hints, so an answer's walk skips everything that cannot name anyone
# (evidence metadata, coverage intervals, …) instead of visiting every value.
_REACHES: dict[type, bool] = {}


def _hints(kind: type[msgspec.Struct]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(kind)
    except (NameError, TypeError):  # an unresolvable hint: walk every field of the class
        return dict.fromkeys(kind.__struct_fields__, Any)


def _hint_reaches(hint: Any) -> bool:
    if hint is Any:
        return True
    if isinstance(hint, type):
        return _reaches(hint) if issubclass(hint, msgspec.Struct) else False
    if typing.get_origin(hint) is dict:
        return False  # dicts are never walked
    return any(_hint_reaches(arg) for arg in typing.get_args(hint))


def _reaches(kind: type[msgspec.Struct]) -> bool:
    if kind not in _REACHES:
        _REACHES[kind] = bool(getattr(kind, "PEOPLE", ()))  # provisional answer for cycles
        if not _REACHES[kind]:
            hints = _hints(kind)
            _REACHES[kind] = any(_hint_reaches(hints[f]) for f in kind.__struct_fields__)
    return _REACHES[kind]


@functools.cache
def _nested(kind: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields of a class that may hold a Struct naming a person."""
    hints = _hints(kind)
    return tuple(f for f in kind.__struct_fields__ if _hint_reaches(hints[f]))


def _walked(value: Any) -> bool:
    """Whether a value may name a person (a list is judged by its first item)."""
    if isinstance(value, msgspec.Struct):
        return _reaches(type(value))
    if isinstance(value, (list, tuple)) and value:
        return _walked(value[0])
    return False


def _ids_in(value: Any, into: set[UUID]) -> None:
    if isinstance(value, msgspec.Struct):
        for id_field, _, _ in _person_fields(type(value)):
            person = getattr(value, id_field)
            if isinstance(person, UUID):
                into.add(person)
            elif isinstance(person, (list, tuple)):
                into.update(p for p in person if isinstance(p, UUID))
        for field in _nested(type(value)):
            inner = getattr(value, field)
            if _walked(inner):
                _ids_in(inner, into)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if _walked(item):
                _ids_in(item, into)


def _filled(value: Any, people: dict[UUID, PersonName]) -> Any:
    if isinstance(value, msgspec.Struct):
        changes: dict[str, Any] = {}
        for id_field, name_field, role_field in _person_fields(type(value)):
            named = getattr(value, id_field)
            if isinstance(named, (list, tuple)):
                found = [people.get(i) for i in named]
                changes[name_field] = [p.name if p else None for p in found]
                changes[role_field] = [p.role if p else None for p in found]
                continue
            person = people.get(named)
            changes[name_field] = person.name if person else None
            changes[role_field] = person.role if person else None
        for field in _nested(type(value)):
            inner = getattr(value, field)
            if _walked(inner):
                changes[field] = _filled(inner, people)
        return msgspec.structs.replace(value, **changes) if changes else value
    if isinstance(value, list):
        return [_filled(item, people) if _walked(item) else item for item in value]
    if isinstance(value, tuple):
        return tuple(_filled(item, people) if _walked(item) else item for item in value)
    return value


def people_in(answer: Any) -> set[UUID]:
    """Every person id an answer names (through its Structs' ``PEOPLE``)."""
    found: set[UUID] = set()
    _ids_in(answer, found)
    return found


def with_people(answer: T, people: dict[UUID, PersonName]) -> T:
    """The answer with names and roles filled from ``people`` (already resolved)."""
    filled: T = _filled(answer, people)
    return filled


async def with_names(answer: T) -> T:
    """The answer with every person's name and role beside the id (one query for all)."""
    named = people_in(answer)
    if not named:
        return answer
    return with_people(answer, await resolve(named))
