"""Every answer of the app that names a person declares it (issue 14, point 5).

Walks the return type of every route in the route table: a Struct field holding a person's
id (by its name: user, actor, holder, host, reviewer, approver, officer, uploader, recorded_by,
decided_by, captured_by, …) must be listed in the Struct's ``PEOPLE``, so the app-wide hook
puts the name and role beside it. A new answer with a bare person id fails here.
"""

from __future__ import annotations

import re
import typing
from typing import Any
from uuid import UUID

import msgspec

from backend import registry
from backend.org.names import companions

PERSON = re.compile(
    r"(^|_)(user|users|actor|holder|host|reviewer|approver|officer|uploader|participant|target_user|drafted_by|"
    r"recorded_by|decided_by|approved_by|created_by|captured_by|by_user)(_ids?)?$"
)
# The person is the caller themself, and the answer already says who (full_name).
SELF_DESCRIBED = {"MeOut.user_id", "ReviewerOut.user_id", "UserOut.id"}


def _holds_uuid(hint: Any) -> bool:
    if hint is UUID:
        return True
    return any(_holds_uuid(arg) for arg in typing.get_args(hint))


def _answers() -> list[Any]:
    found: list[Any] = []
    for item in registry.all_routes():
        handlers = [getattr(item, n) for n in dir(item) if hasattr(getattr(item, n), "fn")] if isinstance(item, type) else [item]
        for handler in handlers:
            hints = typing.get_type_hints(handler.fn)
            if "return" in hints:
                found.append(hints["return"])
    return found


def _structs(hint: Any, seen: set[type[msgspec.Struct]]) -> None:
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        if hint in seen:
            return
        seen.add(hint)
        for field_hint in typing.get_type_hints(hint).values():
            _structs(field_hint, seen)
        return
    for arg in typing.get_args(hint):
        _structs(arg, seen)


def test_every_person_id_in_an_answer_is_declared_with_its_name_and_role() -> None:
    seen: set[type[msgspec.Struct]] = set()
    for answer in _answers():
        _structs(answer, seen)
    assert len(seen) > 50  # the walk reached the app's answers
    bare: list[str] = []
    for struct in seen:
        hints = typing.get_type_hints(struct)
        people = getattr(struct, "PEOPLE", ())
        for field in struct.__struct_fields__:
            label = f"{struct.__name__}.{field}"
            if PERSON.search(field) and _holds_uuid(hints[field]) and field not in people and label not in SELF_DESCRIBED:
                bare.append(label)
        for field in people:
            assert set(companions(field)) <= set(struct.__struct_fields__), f"{struct.__name__}.{field}"
    assert bare == [], "answers naming a person by id only (add the field to PEOPLE with its _name and _role)"
