"""Test data in one place: agencies, people (roles, optionally a certificate), cases with their
handlers, actions with their participants checked in.

Everything goes in through the real services, or — for the field workflow over HTTP — through
the API the office and the phones use (``Field``). A test passes only what matters to it;
polyfactory fills in the rest (names, places, parties), while the values the rules care about
stay fixed: codes, domains and matters the agency holds, and the party's identity number whose
masking and hashing tests check (``ID_NUMBER``).
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec
from faker import Faker
from litestar import Litestar
from litestar.testing import AsyncTestClient
from polyfactory import Use
from polyfactory.factories.msgspec_factory import MsgspecFactory

from backend.core import clock
from backend.core.auth import Principal, TokenIssuer
from backend.core.settings import Settings
from backend.field import cases as case_service
from backend.field import declarations as case_declarations
from backend.field import schemas as case_schemas
from backend.field import stages as stage_service
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from certificates import issuing as certificate_issuing
from certificates import schemas as certificate_schemas
from evidence import capture
from evidence.schemas import CaptureDeclaration
from evidence.store import open_store

PASSWORD = "test-password-1"
MOBILE = "/api/mobile/v1"
OFFICE = "/api/v1"
GPS = {"latitude": 35.6123, "longitude": 111.2234, "accuracy_m": 12.0}
ID_NUMBER = "140826199001011234"
SALT = b"t" * 32
DOMAINS = ["urban_management", "market_supervision"]
MATTERS = ["illegal_building", "food_safety", "unlicensed_business"]

_faker = Faker("zh_CN")


def _hex(n: int = 8) -> str:
    return uuid.uuid4().hex[:n]


# --- request bodies (polyfactory) ---------------------------------------------------------------


class _Body(MsgspecFactory[Any]):
    __is_base_factory__ = True
    __faker__ = _faker
    __check_model__ = True  # a factory field the schema does not have is an error


class AgencyBody(_Body):
    __model__ = org_schemas.AgencyIn

    code = Use(lambda: f"agency-{_hex()}")
    kind = "enforcement_agency"
    subject_status = "confirmed"
    announcement_no = "新政发〔2022〕1号"
    announcement_date = date(2022, 11, 1)
    domains = Use(lambda: list(DOMAINS))
    matters = Use(lambda: list(MATTERS))
    separation_mode = "warn"
    min_checked_in_officers = 2

    @classmethod
    def name(cls) -> str:
        return f"{cls.__faker__.city()}综合行政执法局"


class UserBody(_Body):
    __model__ = org_schemas.UserIn

    username = Use(lambda: f"user-{_hex()}")
    password = PASSWORD
    roles = Use(lambda: ["officer"])
    staff_no = ""
    agency_id = None
    post_id = None
    legal_qualification_no = ""
    legal_qualification_date = None

    @classmethod
    def full_name(cls) -> str:
        return str(cls.__faker__.name())


class PartyBody(_Body):
    __model__ = case_schemas.PartyIn

    kind = "person"
    id_number = ID_NUMBER

    @classmethod
    def name(cls) -> str:
        return str(cls.__faker__.name())


class CaseBody(_Body):
    __model__ = case_schemas.CaseIn

    id = None
    kind = "penalty"
    matter = "food_safety"
    domain = "market_supervision"
    legal_basis = "《食品安全法》第一百二十四条"
    party = Use(PartyBody.build)

    @classmethod
    def title(cls) -> str:
        return f"{cls.__faker__.company_prefix()}食品安全案"

    @classmethod
    def location(cls) -> str:
        return str(cls.__faker__.street_address())


def _valid(kind: type[Any], body: dict[str, Any]) -> Any:
    """The body as the service receives it: validated and converted the way the API would."""
    return msgspec.convert(body, kind)


# --- people ---------------------------------------------------------------------------------


@dataclass
class Person:
    user: org_schemas.UserOut
    agency: org_schemas.AgencyOut
    username: str

    @property
    def principal(self) -> Principal:
        return Principal(
            user_id=self.user.id,
            username=self.username,
            agency_id=self.agency.id,
            agency_kind=self.agency.kind,
            roles=tuple(self.user.roles),
        )


async def agency(code: str | None = None, kind: str = "enforcement_agency", **fields: Any) -> org_schemas.AgencyOut:
    """A confirmed enforcement agency holding ``DOMAINS`` and ``MATTERS`` unless told otherwise."""
    body = msgspec.to_builtins(AgencyBody.build(kind=kind, **({"code": code} if code else {})))
    return await org_service.create_agency(data=_valid(org_schemas.AgencyIn, {**body, **fields}))


async def person(
    roles: Sequence[str] | None = None,
    agency: org_schemas.AgencyOut | None = None,
    username: str | None = None,
    *,
    certified: bool | Sequence[str] = False,
    certified_by: Person | None = None,
    **fields: Any,
) -> Person:
    """A user of ``agency`` (a new one if not given) who can log in with ``PASSWORD``.

    ``certified`` issues an enforcement certificate (True: the default domains, or the domains
    given), signed by ``certified_by`` or a new admin of the agency.
    """
    agency = agency or await _new_agency()  # (the parameter hides the function ``agency``)
    roles = list(roles or ["officer"])
    if "legal_reviewer" in roles:
        fields.setdefault("legal_qualification_no", "A20191234567")
        fields.setdefault("legal_qualification_date", "2019-09-01")
    built = UserBody.build(roles=roles, **({"username": username} if username else {}))
    body = {**msgspec.to_builtins(built), "agency_id": str(agency.id), **fields}
    user = await org_service.create_user(principal=None, data=_valid(org_schemas.UserIn, body))
    made = Person(user=user, agency=agency, username=user.username)
    if certified:
        domains = {} if certified is True else {"domains": list(certified)}
        await certificate(made, certified_by, **domains)
    return made


async def _new_agency() -> org_schemas.AgencyOut:
    return await agency()


def bearer(app: Litestar, someone: Person) -> dict[str, str]:
    """A real access token from the app's own key ring (what login would hand out)."""
    issuer: TokenIssuer = app.dependencies["issuer"].dependency()  # type: ignore[union-attr]
    return {"Authorization": f"Bearer {issuer.issue(someone.principal)}"}


# --- certificates ---------------------------------------------------------------------------


def certificate_body(holder_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """A certificate the Justice Bureau rules accept: valid since yesterday for a year."""
    now = clock.now()
    body: dict[str, Any] = {
        "number": f"GZ-{_hex(10)}",
        "holder_id": str(holder_id),
        "domains": ["urban_management"],
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "qualification_review_ref": "资格审查〔2025〕12号",
        "exam": {"exam_id": "EX-2025-07", "exam_date": "2025-07-01", "score": 86, "pass_mark": 60, "passed": True},
        "document_ref": "发证决定〔2025〕3号",
    }
    body.update(fields)
    return body


async def certificate(holder: Person, admin: Person | None = None, **fields: Any) -> certificate_schemas.CertificateDetail:
    """Issue a certificate to ``holder`` as ``admin`` (a new admin of the holder's agency if not given)."""
    admin = admin or await person(["admin"], holder.agency)
    data = _valid(certificate_schemas.CertificateIn, certificate_body(holder.user.id, **fields))
    return await certificate_issuing.issue(principal=admin.principal, data=data)


# --- cases (service) ------------------------------------------------------------------------


NO_CONFLICT = {"conflict": False, "statement": "本人与本案当事人无利害关系，无回避情形"}


def _case_body(lead: Person, **fields: Any) -> dict[str, Any]:
    """The lead opens the case declaring on the recusal grounds (R-RCS-2); others join later."""
    officers = [{"user_id": str(lead.user.id), "role": "lead"}]
    body = msgspec.to_builtins(CaseBody.build(officers=[]))
    return {**body, "officers": officers, "declaration": NO_CONFLICT, **fields}


async def case(
    lead: Person,
    *assisting: Person,
    stage: str = "initiation",
    id_salt: bytes = SALT,
    **fields: Any,
) -> case_schemas.CaseOut:
    """A case opened by ``lead``, ``assisting`` officers declared and assigned (by a supervisor
    of the agency), moved on to ``stage`` (a record filed before each move, as the rules require)."""
    data = _valid(case_schemas.CaseIn, _case_body(lead, **fields))
    opened = await case_service.create_case(principal=lead.principal, data=data, id_salt=id_salt)
    if assisting:
        supervisor = await person(["supervisor"], lead.agency)
        for other in assisting:
            declaration = _valid(case_schemas.CaseDeclarationIn, NO_CONFLICT)
            await case_declarations.declare_on_case(principal=other.principal, case_id=opened.id, data=declaration)
            assignment = _valid(case_schemas.OfficerAssignmentIn, {"user_id": str(other.user.id), "role": "assisting"})
            opened = await case_service.assign_officer(principal=supervisor.principal, case_id=opened.id, data=assignment)
    stages = ["initiation", "investigation", "review_decision", "service_execution", "archived"]
    for next_stage in stages[1 : stages.index(stage) + 1]:
        evidence_id = await document_photo(lead, opened.id, title=f"record before {next_stage}")
        record = case_schemas.CaseRecordIn(kind="document", title=f"record before {next_stage}", evidence_id=evidence_id)
        await stage_service.add_record(principal=lead.principal, case_id=opened.id, data=record)
        advance = _valid(case_schemas.StageAdvanceIn, {"to_stage": next_stage})
        opened = await stage_service.advance_stage(principal=lead.principal, case_id=opened.id, data=advance)
    return opened


async def document_photo(officer: Person, case_id: uuid.UUID, *, title: str) -> uuid.UUID:
    """A stage's record as officers file it: a photographed document of the case, captured
    into a real file store (a title alone is no record, R-REC-1). The evidence id."""
    from tests.integration.evidence.media_factory import jpeg

    store_dir = Path(tempfile.gettempdir()) / "fieldproof-factory-store"
    settings = Settings(data_dir=str(store_dir), key_dir=str(store_dir / "keys"))
    data = jpeg(color="white")
    context = await case_service.authorize_capture(principal=officer.principal, case_id=case_id, action_id=None)
    declared = CaptureDeclaration(
        sha256=hashlib.sha256(data + title.encode()).hexdigest(),
        kind="photo",
        captured_at=clock.now(),
        device_id="factory-scanner",
        filename=f"{title}.jpg",
    )
    body = data + title.encode()  # distinct bytes per document: never a duplicate of another

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    result = await capture.receive_direct(
        store=open_store(settings), chunks=chunks(), declared=declared, context=context, settings=settings
    )
    return result.evidence.id


# --- the field workflow over HTTP -------------------------------------------------------------


@dataclass
class Field:
    """One agency's field team, each member with a token for the office and phone routes."""

    client: AsyncTestClient[Litestar]
    agency: org_schemas.AgencyOut
    people: dict[str, Person]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def h(self, name: str) -> dict[str, str]:
        return self.headers[name]

    def uid(self, name: str) -> str:
        return str(self.people[name].user.id)

    async def join(self, name: str, roles: Sequence[str] = ("officer",), **kwargs: Any) -> Person:
        """Another member of the agency (uncertified unless ``certified`` is given)."""
        member = await person(roles, self.agency, **kwargs)
        self.people[name] = member
        self.headers[name] = bearer(self.client.app, member)
        return member


async def field_team(client: AsyncTestClient[Litestar], **agency_fields: Any) -> Field:
    """王 (lead), 李, 赵 and 钱 (officers, all certified), supervisor 刘, admin 周."""
    team_agency = await agency(**agency_fields)
    zhou = await person(["admin"], team_agency)
    people = {
        name: await person(agency=team_agency, certified=DOMAINS, certified_by=zhou) for name in ("wang", "li", "zhao", "qian")
    }
    people["liu"] = await person(["supervisor"], team_agency)
    people["zhou"] = zhou
    return Field(
        client=client,
        agency=team_agency,
        people=people,
        headers={name: bearer(client.app, member) for name, member in people.items()},
    )


def case_body(f: Field, *, lead: str = "wang", **extra: Any) -> dict[str, Any]:
    """A coercion case (the field tests' impounds and seals) as its lead sends it, declaring on
    the recusal grounds (R-RCS-2); ``extra`` goes in unchecked, so a test can send a bad field."""
    return _case_body(f.people[lead], **{"kind": "coercion", **extra})


async def open_case(
    f: Field, *, lead: str = "wang", assisting: tuple[str, ...] = ("li", "zhao", "qian"), **kwargs: Any
) -> dict[str, Any]:
    """王 opens a case over HTTP (declaring as he does); each of ``assisting`` declares on it and
    the supervisor 刘 assigns them (R-RCS-2). The case's JSON."""
    response = await f.client.post(f"{OFFICE}/cases", json=case_body(f, lead=lead, **kwargs), headers=f.h(lead))
    assert response.status_code == 201, response.text
    case_id = response.json()["id"]
    for name in assisting:
        declared = await f.client.post(f"{OFFICE}/cases/{case_id}/handler-declarations", json=NO_CONFLICT, headers=f.h(name))
        assert declared.status_code == 201, declared.text
        body = {"user_id": f.uid(name), "role": "assisting"}
        response = await f.client.post(f"{OFFICE}/cases/{case_id}/officers", json=body, headers=f.h("liu"))
        assert response.status_code == 201, response.text
    return dict(response.json())


async def plan_action(
    f: Field,
    case_id: str,
    *,
    kind: str = "impound",
    participants: tuple[str, ...] = ("wang", "li", "zhao"),
    checked_in: tuple[str, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    """刘 plans an action; each of ``checked_in`` then checks in, declares no conflict and
    records showing the certificate."""
    body: dict[str, Any] = {
        "case_id": case_id,
        "kind": kind,
        "title": f"{kind} {_faker.street_name()}",
        "planned_at": clock.now().isoformat(),
        "planned_place": _faker.street_address(),
        "participant_ids": [f.uid(n) for n in participants],
    }
    body.update(extra)
    response = await f.client.post(f"{OFFICE}/actions", json=body, headers=f.h("liu"))
    assert response.status_code == 201, response.text
    action = dict(response.json())
    for name in checked_in:
        checked = await check_in(f, name, action["id"])
        assert checked.status_code == 201, checked.text
        declared = await declare(f, name, action["id"])
        assert declared.status_code == 201, declared.text
        shown = await show_certificate(f, name, action["id"])
        assert shown.status_code == 201, shown.text
    return action


async def show_certificate(f: Field, name: str, action_id: str) -> Any:
    """The participant records showing the certificate verified at check-in (R-CERT-5)."""
    body = {"id": str(uuid.uuid4()), "device_time": clock.now().isoformat()}
    return await f.client.post(f"{MOBILE}/actions/{action_id}/certificate-shown", json=body, headers=f.h(name))


async def check_in(f: Field, name: str, action_id: str, *, check_in_id: str | None = None) -> Any:
    body = {
        "id": check_in_id or str(uuid.uuid4()),
        "device_id": f"phone-{name}",
        "device_time": clock.now().isoformat(),
        "location": GPS,
    }
    return await f.client.post(f"{MOBILE}/actions/{action_id}/check-ins", json=body, headers=f.h(name))


async def declare(f: Field, name: str, action_id: str, *, ground: str | None = None) -> Any:
    """The participant's recusal declaration for the action: no conflict, or ``ground``."""
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "conflict": ground is not None, "device_time": clock.now().isoformat()}
    if ground:
        body["ground"] = ground
        body["statement"] = "当事人系本人表兄"
    return await f.client.post(f"{MOBILE}/actions/{action_id}/recusals", json=body, headers=f.h(name))
