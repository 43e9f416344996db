"""Hostile values in every string and date-time field of a generated request (issue 15, point 8).

A schemathesis case (schema-valid, ``GenerationMode.POSITIVE``) is the base; ``fields`` lists
every string it carries — in the JSON body at any depth (object keys too), in the query and in
the path — and ``plant`` replaces one with a value from tests/strategies.py: ``hostile_text``
(NUL, C0/C1 controls, DEL, lone surrogates, ordinary text) or, where the field holds a
date-time, an instant anywhere in years 1–9999 written with offsets up to ±14:00.

``verdict`` says what the answer must be: never a 5xx; every 4xx a problem+json document; and
a value the input policy must refuse (a forbidden character, a date-time outside 1970–2200)
never a 2xx; and a problem (zh-CN, the default) has a Chinese title and Chinese in its detail.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st
from schemathesis import Case

from tests.strategies import hostile_text, instants

_CJK = re.compile("[\u4e00-\u9fff]")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
# What the input policy refuses in any text (backend/core/inputs.py); JSON text may hold tab/newline.
_FORBIDDEN_IN_JSON = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 12, 31, 23, 59, 59, tzinfo=UTC)


@dataclass(frozen=True)
class Field:
    """One string of a case: where it is (``body`` path of keys/indices, or a parameter)."""

    location: str  # "body", "body-key", "query", "path"
    path: tuple[str | int, ...]
    is_datetime: bool


def fields(case: Case) -> list[Field]:
    found: list[Field] = []
    if isinstance(case.body, dict | list):
        _walk(case.body, (), found)
    for location, values in (("query", case.query), ("path", case.path_parameters)):
        for name, value in (values or {}).items():
            if isinstance(value, str):
                found.append(Field(location, (name,), bool(_DATETIME.match(value))))
    return found


def _walk(value: Any, path: tuple[str | int, ...], found: list[Field]) -> None:
    if isinstance(value, str):
        found.append(Field("body", path, bool(_DATETIME.match(value))))
    elif isinstance(value, dict):
        for key, child in value.items():
            found.append(Field("body-key", (*path, key), False))
            _walk(child, (*path, key), found)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _walk(child, (*path, index), found)


def hostile_value(field: Field) -> st.SearchStrategy[str]:
    if field.is_datetime:
        return st.one_of(instants.map(lambda moment: moment.isoformat()), hostile_text)
    return hostile_text


def plant(case: Case, field: Field, value: str) -> None:
    if field.location in {"query", "path"}:
        target = case.query if field.location == "query" else case.path_parameters
        assert target is not None
        # A raw '#' or '?' in a path would end the path (fragment, query) and reach another
        # route (found by make fuzz: '#…' in a benchmark id listed the benchmarks, 200).
        if field.location == "path":
            value = value.replace("#", "%23").replace("?", "%3F")
        target[str(field.path[0])] = value
        return
    parent: Any = case.body
    for step in field.path[:-1]:
        parent = parent[step]
    last = field.path[-1]
    if field.location == "body-key":
        parent[value] = parent.pop(last)
    else:
        parent[last] = value


def must_refuse(field: Field, value: str) -> bool:
    """Whether the input policy refuses ``value`` in ``field`` whatever else the request says."""
    forbidden = _FORBIDDEN_IN_JSON if field.location == "body" else _FORBIDDEN_IN_LINE
    if forbidden.search(value):
        return True
    if not field.is_datetime or not _DATETIME.match(value):
        return False
    try:
        moment = datetime.fromisoformat(value)
        utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return True
    return not EARLIEST <= utc <= LATEST


def verdict(status: int, content_type: str | list[str], body: bytes, *, refused: bool) -> str | None:
    """What is wrong with the answer, or None. A problem (the request sends no Accept-Language,
    so zh-CN) must carry a Chinese title and a detail with Chinese in it (issue 15, point 9)."""
    if isinstance(content_type, list):  # schemathesis keeps every value of a header
        content_type = content_type[0] if content_type else ""
    if status >= 500:
        return f"server error {status}"
    if status >= 400 and not content_type.startswith("application/problem+json"):
        return f"{status} answered as {content_type!r}, not problem+json"
    if refused and status < 400:
        return f"a value the input policy refuses was accepted ({status})"
    if status >= 400 and body:
        problem = json.loads(body)
        if not _CJK.search(problem.get("title", "")) or not _CJK.search(problem.get("detail", "")):
            return f"zh-CN problem not in Chinese: {problem.get('title')!r} / {problem.get('detail')!r}"
    return None
