"""Every route of the app, called as every kind of person, answers as its declared rule says
(issue 14, "what must hold" 1; backend/core/access.py).

One scenario is seeded: a township (A) holding a case entrusted to it by a natural-resources
bureau (E), with an action, a capture and a certificate, and a second case of A with a
decision draft; another agency (B) and the Justice Bureau (JB). Then each route in the route
table is called as: nobody, the case's handler, an officer of A with no part in the case, an
officer of B, A's supervisor, legal reviewer and admin, JB's admin and E's admin.

- a route without an ``opt=declared(RULE)`` fails the test;
- nobody gets 401 (unless the rule is public);
- a person holding no part in A's object at all gets 404 (never 403: the object's existence
  is not theirs to learn), a colleague of A without the part 403 (or 404 where the service
  hides the object from colleagues too);
- a person the rule admits gets neither 401 nor 403, nor a 404 naming a seeded object (other
  4xx answers, e.g. a body the service refuses, are fine: the rule let them through).

Bodies are the smallest valid instances of each route's request type, with the seeded ids put in.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from backend.core.access import On, Part, Rule, rule_of
from backend.field import action_schemas
from backend.field import actions as action_service
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from tests import factories as make
from tests.integration.decisions.conftest import CASE_IN_REVIEW, benchmark_body, draft_body, jpeg_bytes

OWN = frozenset(
    {Part.SIGNED_IN, Part.OFFICER, Part.HANDLER, Part.PARTICIPANT, Part.SUPERVISOR, Part.LEGAL_REVIEWER, Part.ADMIN, Part.SELF}
)
_S, _O = Part.SIGNED_IN, Part.OFFICER


def _same_everywhere(*parts: Part) -> dict[On, frozenset[Part]]:
    return {on: frozenset(parts) for on in On}


# The parts each person holds in the seeded objects, by what the route's object is. The
# "person" of On.PERSON routes is the handler (their certificate, their user record).
PARTS: dict[str, dict[On, frozenset[Part]]] = {
    "anonymous": {on: frozenset() for on in On},
    "handler": {
        On.NOTHING: frozenset({_S, _O}),
        On.CASE: frozenset({_S, _O, Part.HANDLER}),
        On.ACTION: frozenset({_S, _O, Part.HANDLER, Part.PARTICIPANT}),
        On.PERSON: frozenset({_S, _O, Part.SELF}),
        On.AGENCY: frozenset({_S, _O}),
    },
    "bystander": _same_everywhere(_S, _O),
    "foreign": {**_same_everywhere(), On.NOTHING: frozenset({_S, _O})},
    "supervisor": _same_everywhere(_S, Part.SUPERVISOR),
    "legal": _same_everywhere(_S, Part.LEGAL_REVIEWER),
    "admin": _same_everywhere(_S, Part.ADMIN),
    "justice": {
        **_same_everywhere(Part.JUSTICE, Part.REGISTRAR),
        On.NOTHING: frozenset({_S, Part.ADMIN, Part.REGISTRAR}),
    },
    "entruster": {
        **_same_everywhere(),
        On.NOTHING: frozenset({_S, Part.ADMIN}),
        On.CASE: frozenset({Part.ENTRUSTING}),
        On.ACTION: frozenset({Part.ENTRUSTING}),
    },
}
PERSONS = tuple(PARTS)
# The routes of the OpenAPI documentation Litestar serves itself (public, no handler of ours).
DOCUMENTATION = re.compile(r"^/schema(/|$)")
# The slugs of a refusal for want of a part (backend/core/access.py: a Rule's refusal).
REFUSALS = {"forbidden", "not-assigned"}
_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")
NOW = datetime.now(UTC)


@dataclass
class World:
    client: AsyncTestClient[Litestar]
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]
    spare_user: str
    seeded: set[str] = field(default_factory=set)


def _routes(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or DOCUMENTATION.match(route.path):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method == "OPTIONS" and handler.fn.__module__.startswith("litestar."):
                continue  # the OPTIONS answer Litestar adds to every path
            yield method, route.path, handler


def test_every_route_declares_who_may_call_it(app: Litestar) -> None:
    undeclared = [f"{method} {path}" for method, path, handler in _routes(app) if rule_of(handler.opt) is None]
    assert not undeclared, "routes without opt=declared(RULE) (backend/core/access.py):\n" + "\n".join(sorted(undeclared))


# --- the scenario -------------------------------------------------------------------------


async def _seed(client: AsyncTestClient[Litestar]) -> World:
    app = client.app
    entruster_agency = await make.agency(matters=[*make.MATTERS, "illegal_land_use"])
    township = await make.agency()
    other = await make.agency()
    bureau = await make.agency(kind="justice_bureau")
    people = {
        "handler": await make.person(["officer"], township, certified=True),
        "bystander": await make.person(["officer"], township),
        "foreign": await make.person(["officer"], other),
        "supervisor": await make.person(["supervisor"], township),
        "legal": await make.person(["legal_reviewer"], township),
        "admin": await make.person(["admin"], township),
        "justice": await make.person(["admin"], bureau),
        "entruster": await make.person(["admin"], entruster_agency),
    }
    spare = await make.person(["officer"], township)
    entrustment = {
        "entrusted_agency_id": str(township.id),
        "legal_basis": "行政处罚法 第二十条",
        "matters": ["illegal_land_use"],
        "domains": ["urban_management"],
        "action_kinds": ["inspection", "investigation"],
        "valid_from": (NOW - timedelta(days=30)).isoformat(),
        "valid_until": (NOW + timedelta(days=365)).isoformat(),
        "letter_ref": "新自然资委〔2026〕1号",
    }
    known = set(org_schemas.EntrustmentIn.__struct_fields__)
    data = msgspec.convert({k: v for k, v in entrustment.items() if k in known}, org_schemas.EntrustmentIn)
    await org_service.create_entrustment(principal=people["entruster"].principal, data=data)
    handler = people["handler"]
    entrusted = await make.case(handler, spare, matter="illegal_land_use", domain="urban_management")
    assert entrusted.entrustment_id is not None
    action = await action_service.create_action(
        principal=people["supervisor"].principal,
        data=action_schemas.ActionIn(
            case_id=entrusted.id,
            kind="inspection",
            title="现场检查",
            planned_at=NOW,
            participant_ids=[handler.user.id, spare.user.id],
        ),
    )
    headers = {name: make.bearer(app, person) for name, person in people.items()}
    headers["anonymous"] = {}
    unit = await org_service.create_unit(
        principal=people["admin"].principal, data=org_schemas.UnitIn(name="法制审核科", kind="legal_review")
    )
    designated = await client.post(
        "/api/v1/legal-reviewers",
        json={"user_id": str(people["legal"].user.id), "unit_id": str(unit.id)},
        headers=headers["admin"],
    )
    assert designated.status_code == 201, designated.text
    evidence_id = await _upload(client, headers["handler"], entrusted.id)
    # A second case of the township, in review & decision, with a draft decision.
    reviewing = await make.case(handler, **CASE_IN_REVIEW)
    created = await client.post("/api/v1/benchmarks", json=benchmark_body(), headers=headers["admin"])
    assert created.status_code == 201, created.text
    benchmark_id = created.json()["id"]
    assert (await client.post(f"/api/v1/benchmarks/{benchmark_id}/publish", headers=headers["admin"])).status_code == 200
    drafted = await client.post(
        f"/api/v1/cases/{reviewing.id}/decisions", json=draft_body(benchmark_id), headers=headers["handler"]
    )
    assert drafted.status_code == 201, drafted.text
    certificates = await client.get("/api/mobile/v1/certificates", headers=headers["handler"])
    assert certificates.status_code == 200, certificates.text
    ids = {
        "case_id": str(entrusted.id),
        "decision_case_id": str(reviewing.id),
        "action_id": str(action.id),
        "evidence_id": evidence_id,
        "decision_id": str(drafted.json()["decision"]["id"]),
        "benchmark_id": str(benchmark_id),
        "certificate_id": str(certificates.json()["items"][0]["id"]),
        "user_id": str(handler.user.id),
        "agency_id": str(township.id),
    }
    return World(client=client, headers=headers, ids=ids, spare_user=str(spare.user.id), seeded=set(ids.values()))


async def _upload(client: AsyncTestClient[Litestar], headers: dict[str, str], case_id: uuid.UUID) -> str:
    data = jpeg_bytes(7)
    params = {
        "case_id": str(case_id),
        "kind": "photo",
        "sha256": hashlib.sha256(data).hexdigest(),
        "captured_at": NOW.isoformat(),
        "device_id": "phone-handler",
    }
    answer = await client.post(
        "/api/mobile/v1/evidence", params=params, content=data, headers=headers | {"Content-Type": "image/jpeg"}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["evidence_id"])


# --- requests -----------------------------------------------------------------------------

# Body fields filled from the scenario, so a request reaches the rule instead of a 404 on a
# random id; a recusal declaration says "no conflict" (a conflict would remove the handler).
_BODY_IDS = {
    "case_id": "case_id",
    "action_id": "action_id",
    "evidence_id": "evidence_id",
    "proof_evidence_id": "evidence_id",
    "waiver_evidence_id": "evidence_id",
    "benchmark_id": "benchmark_id",
    "holder_id": "user_id",
}
_BODY_VALUES: dict[str, Any] = {"conflict": False, "roles": ["officer"], "purpose": "监督检查"}


_PATTERN_CANDIDATES = ("a1", "0" * 64, "TS-1", "0571-1", "x@y.cn", "image/jpeg", "A" * 43, "A" * 86, "a")


def _text(info: msgspec.inspect.StrType) -> str:
    if info.pattern:
        for candidate in _PATTERN_CANDIDATES:
            if re.search(info.pattern, candidate) and len(candidate) >= (info.min_length or 0):
                return candidate
        raise AssertionError(f"no sample text for pattern {info.pattern}")
    return "测" * max(info.min_length or 0, 2) if (info.max_length or 2) >= 2 else "测"


def _number(info: Any) -> int | float:
    low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else 1)
    return low if info.le is None else min(low, info.le)


def _sample(info: Any, name: str, ids: dict[str, str]) -> Any:
    """The smallest valid value of a request body's type: required fields only, lists at
    their minimum length, the scenario's ids where a field names one."""
    inspect = msgspec.inspect
    if name in _BODY_VALUES:
        return _BODY_VALUES[name]
    if name in _BODY_IDS:
        return ids[_BODY_IDS[name]]
    if isinstance(info, inspect.StructType):
        # Required fields, and a retrieval's purpose (optional in the schema, required by the service).
        return {f.encode_name: _sample(f.type, f.name, ids) for f in info.fields if f.required or f.name == "purpose"}
    if isinstance(info, inspect.UnionType):
        chosen = [t for t in info.types if not isinstance(t, inspect.NoneType)]
        return _sample(chosen[0], name, ids) if chosen else None
    if isinstance(info, inspect.ListType | inspect.SetType | inspect.FrozenSetType | inspect.VarTupleType):
        item = {"participant_ids": "user_id", "evidence_ids": "evidence_id"}.get(name)
        count = max(info.min_length or 0, 1 if item else 0)
        return [ids[item] if item else _sample(info.item_type, "", ids) for _ in range(count)]
    if isinstance(info, inspect.DictType):
        return {}
    if isinstance(info, inspect.LiteralType):
        return info.values[0]
    if isinstance(info, inspect.EnumType):
        return next(iter(info.cls)).value
    if isinstance(info, inspect.StrType):
        return _text(info)
    if isinstance(info, inspect.BoolType):
        return False
    if isinstance(info, inspect.IntType | inspect.FloatType):
        return _number(info)
    if isinstance(info, inspect.UUIDType):
        return str(uuid.uuid4())
    if isinstance(info, inspect.DateTimeType):
        return NOW.isoformat()
    if isinstance(info, inspect.DateType):
        return NOW.date().isoformat()
    if isinstance(info, inspect.NoneType):
        return None
    return "测试"


def _body(handler: HTTPRouteHandler, ids: dict[str, str]) -> Any:
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kind = data.annotation
    if not (isinstance(kind, type) and issubclass(kind, msgspec.Struct)):
        return None
    return _sample(msgspec.inspect.type_info(kind), "", ids)


def _path(path: str, method: str, world: World) -> str:
    ids = world.ids

    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if kind == "int":
            return "0"
        if name == "case_id" and re.search(r"/decision", path):
            return ids["decision_case_id"]
        if name == "user_id" and method != "GET":
            # Changing the handler's roles would end their session, removing them their part.
            return world.spare_user
        return ids.get(name, str(uuid.uuid4()))

    return _PARAMETER.sub(value, path)


async def _call(world: World, method: str, path: str, handler: HTTPRouteHandler, who: str) -> Any:
    headers = {**world.headers[who], "Tus-Resumable": "1.0.0"}
    params: dict[str, str] = {"purpose": "监督检查"}
    content: bytes | None = None
    body = _body(handler, world.ids)
    if path == "/api/mobile/v1/evidence":
        content = jpeg_bytes(11)
        params |= {
            "case_id": world.ids["case_id"],
            "kind": "photo",
            "sha256": hashlib.sha256(content).hexdigest(),
            "captured_at": NOW.isoformat(),
            "device_id": "phone-walk",
        }
        headers["Content-Type"] = "image/jpeg"
    elif path == "/api/mobile/v1/uploads" and method == "POST":
        metadata = {"filename": "a.jpg", "filetype": "image/jpeg", "sha256": "0" * 64, "case_id": world.ids["case_id"]}
        metadata["device_id"] = "phone-walk"
        metadata["captured_at"] = NOW.isoformat()
        headers |= {"Upload-Length": "10", "Upload-Metadata": _tus_metadata(metadata)}
    elif path.startswith("/api/mobile/v1/uploads/") and method in ("PATCH", "POST"):
        headers |= {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        if method == "POST":
            headers["X-HTTP-Method-Override"] = "PATCH"
        content = b"0123456789"
    if body is not None:
        return await world.client.request(method, _path(path, method, world), params=params, json=body, headers=headers)
    return await world.client.request(method, _path(path, method, world), params=params, content=content, headers=headers)


def _tus_metadata(values: dict[str, str]) -> str:
    import base64

    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


# --- the walk -----------------------------------------------------------------------------


def _parts(found: Rule, who: str, path: str) -> frozenset[Part]:
    # The decision's case is the township's own: the entrusting agency has no part in it.
    if who == "entruster" and "/decision" in path:
        return frozenset()
    return PARTS[who][found.on]


def _admitted(found: Rule, who: str, path: str) -> bool:
    return Part.PUBLIC in found.parts or bool(found.parts & _parts(found, who, path))


def _verdict(found: Rule, who: str, path: str, answer: Any, seeded: set[str]) -> str:
    status = answer.status_code
    problem = answer.headers.get("content-type", "").startswith("application/problem+json")
    body = answer.json() if problem and answer.content else {}
    detail, slug = str(body.get("detail", "")), str(body.get("type", "")).rpartition("/")[2]
    if Part.PUBLIC in found.parts:
        return "" if status != 403 else f"a public route refused with {status}"  # a bad password is a 401
    if _admitted(found, who, path):
        # A 403 of the rules of the matter (not checked in, outside the entrustment) is no refusal of the person.
        refused = status == 401 or (status == 403 and slug in REFUSALS) or (status == 404 and any(i in detail for i in seeded))
        if refused:
            return f"admitted, got {status} {detail[:160]}"
        return ""
    if who == "anonymous":
        return "" if status == 401 else f"anonymous got {status}"
    expected = {403, 404} if _parts(found, who, path) & OWN else {404}
    return "" if status in expected else f"expected {sorted(expected)}, got {status} {detail[:160]}"


def _people(found: Rule, path: str) -> list[str]:
    """Refused people first, then the admitted ones (whose writes may change the scenario); a
    public route once anonymously and once signed in (login and refresh answer a garbage token
    from one address with growing back-off)."""
    if Part.PUBLIC in found.parts:
        return ["anonymous", "handler"]
    return sorted(PERSONS, key=lambda w: _admitted(found, w, path))


@pytest.mark.requirement("R-AGY-6", "R-SUP-2")
async def test_every_route_answers_every_person_as_its_rule_declares(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    world = await _seed(client)
    routes = [(m, p, h) for m, p, h in _routes(app) if rule_of(h.opt) is not None]
    # Reads before writes, deletions last: a write an admitted person makes must not take
    # the scenario away from the routes after it.
    order = {"GET": 0, "HEAD": 0, "OPTIONS": 0, "DELETE": 2}
    routes.sort(key=lambda r: (order.get(r[0], 1), r[1]))
    failures: list[str] = []
    calls = 0
    for method, path, handler in routes:
        found = rule_of(handler.opt)
        assert found is not None
        people = _people(found, path)
        # Reads and the refused change nothing: they are asked at once; admitted writes in turn.
        reads = method in ("GET", "HEAD")
        refused = [w for w in people if reads or not _admitted(found, w, path)]
        answers = list(
            zip(refused, await asyncio.gather(*(_call(world, method, path, handler, w) for w in refused)), strict=True)
        )
        for who in people[len(refused) :]:
            answers.append((who, await _call(world, method, path, handler, who)))
        for who, answer in answers:
            calls += 1
            problem = _verdict(found, who, path, answer, world.seeded)
            if answer.status_code >= 500:
                problem = f"server error {answer.status_code}"
            if problem:
                failures.append(f"{method} {path} [{found.name}] as {who}: {problem}")
    assert calls > 9 * 80
    assert not failures, f"{len(failures)} answers differ from the declared rules:\n" + "\n".join(failures)
