"""Idempotent demo data: the cast of docs/DEMO.md (新绛县). Demo passwords only — never in production."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import msgspec

import backend.field.actions as enforcement_actions
from backend.core import clock
from backend.core.auth import Principal
from backend.core.settings import Settings
from backend.field import action_schemas as enforcement_action_schemas
from backend.field import cases as enforcement_service
from backend.field import schemas as enforcement_schemas
from backend.field.tables import Action
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from backend.org.tables import Entrustment, User
from certificates import issuing as certificate_issuing
from certificates import schemas as certificate_schemas
from certificates import transitions as certificate_transitions
from certificates.tables import Certificate

DEMO_PASSWORD = "fieldproof-demo"  # noqa: S105 - printed and documented as demo-only


@dataclass(frozen=True)
class DemoAgency:
    code: str
    name: str
    kind: str
    domains: tuple[str, ...] = ()
    matters: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    agency: str
    roles: tuple[str, ...]
    staff_no: str
    legal_qualification_no: str = ""


AGENCIES = [
    DemoAgency("county", "新绛县人民政府", "county_government"),
    DemoAgency("justice", "新绛县司法局", "justice_bureau"),
    DemoAgency(
        "comprehensive",
        "新绛县综合行政执法局",
        "enforcement_agency",
        ("urban_management", "illegal_building"),
        ("illegal_building", "street_occupation", "forced_demolition"),
    ),
    DemoAgency(
        "market",
        "新绛县市场监督管理局",
        "enforcement_agency",
        ("market_supervision", "food_safety"),
        ("food_safety", "unlicensed_business", "counterfeit_goods"),
    ),
    DemoAgency(
        "natural-resources", "新绛县自然资源局", "enforcement_agency", ("land_use",), ("land_inspection", "illegal_land_use")
    ),
    DemoAgency("township", "某镇人民政府", "entrusted_organisation", ("land_use",), ()),
]

USERS = [
    DemoUser("zhou", "周 (admin)", "comprehensive", ("admin",), "ZH-0001"),
    DemoUser("wang", "王 (lead officer)", "comprehensive", ("officer",), "ZH-0101"),
    DemoUser("li", "李 (assisting officer)", "comprehensive", ("officer",), "ZH-0102"),
    DemoUser("liu", "刘 (supervisor)", "comprehensive", ("supervisor",), "ZH-0201"),
    DemoUser("sun", "孙 (legal reviewer)", "comprehensive", ("legal_reviewer",), "ZH-0301", "A20191401234"),
    DemoUser("zhao", "赵 (officer, certificate suspended)", "market", ("officer",), "SC-0101"),
    DemoUser("qian", "钱 (officer)", "market", ("officer",), "SC-0102"),
    DemoUser("zheng", "郑 (officer)", "market", ("officer",), "SC-0103"),
    DemoUser("market-admin", "吴 (admin)", "market", ("admin",), "SC-0001"),
    DemoUser("chen", "陈 (township, entrusted)", "township", ("officer",), "TW-0101"),
    DemoUser("justice-admin", "冯 (Justice Bureau admin)", "justice", ("admin",), "SF-0001"),
    DemoUser("nr-admin", "褚 (admin)", "natural-resources", ("admin",), "ZR-0001"),
]


async def _ensure_agency(spec: DemoAgency) -> org_schemas.AgencyOut:
    existing = await org_service.get_agency_by_code(code=spec.code)
    if existing is not None:
        return existing
    confirmed = spec.kind == "enforcement_agency"
    data = org_schemas.AgencyIn(
        code=spec.code,
        name=spec.name,
        kind=spec.kind,  # type: ignore[arg-type]
        subject_status="confirmed" if confirmed else "pending",
        announcement_no="新政办发〔2022〕28号" if confirmed else "",
        announcement_date=date(2022, 11, 1) if confirmed else None,
        domains=list(spec.domains),
        matters=list(spec.matters),
    )
    return await org_service.create_agency(data=data)


async def _ensure_user(spec: DemoUser, agencies: dict[str, org_schemas.AgencyOut]) -> bool:
    if await User.exists().where(User.username == spec.username):
        return False
    payload = {
        "username": spec.username,
        "password": DEMO_PASSWORD,
        "full_name": spec.full_name,
        "roles": list(spec.roles),
        "agency_id": str(agencies[spec.agency].id),
        "staff_no": spec.staff_no,
        "legal_qualification_no": spec.legal_qualification_no,
        "legal_qualification_date": "2019-09-21" if spec.legal_qualification_no else None,
    }
    await org_service.create_user(principal=None, data=msgspec.convert(payload, org_schemas.UserIn))
    return True


NAMESPACE = uuid.UUID("6f1c2a3e-2022-4b28-9d28-000000000028")  # stable ids: reruns find their records


def _demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


async def _principal(username: str) -> Principal:
    row = await User.select(User.id).where(User.username == username).first()
    assert row is not None, username
    return await org_service.principal_for(row["id"])


async def _ensure_entrustment(agencies: dict[str, org_schemas.AgencyOut]) -> None:
    """自然资源局 entrusts the township with on-site land inspections for one year (docs/DEMO.md)."""
    if await Entrustment.exists().where(Entrustment.entrusted_agency == agencies["township"].id):
        return
    admin = await _principal("nr-admin")
    await org_service.create_entrustment(
        principal=admin,
        data=org_schemas.EntrustmentIn(
            entrusted_agency_id=agencies["township"].id,
            legal_basis="《中华人民共和国行政处罚法》第二十条",
            matters=["land_inspection"],
            domains=["land_use"],
            authority="现场检查、制作检查笔录",
            valid_from=datetime(2026, 6, 1, tzinfo=UTC),
            valid_until=datetime(2027, 6, 1, tzinfo=UTC),
            letter_ref="新自然资委〔2026〕3号",
        ),
    )


CERTIFICATES = [
    ("wang", "justice-admin", "14082500101", ["urban_management", "illegal_building"]),
    ("li", "justice-admin", "14082500102", ["urban_management", "illegal_building"]),
    ("zhao", "justice-admin", "14082500201", ["market_supervision", "food_safety"]),
    ("qian", "justice-admin", "14082500202", ["market_supervision", "food_safety"]),
    ("zheng", "justice-admin", "14082500203", ["market_supervision", "food_safety"]),
    ("chen", "justice-admin", "14082500301", ["land_use"]),
]


async def _ensure_certificates() -> None:
    for holder, issuer, number, domains in CERTIFICATES:
        if await Certificate.exists().where(Certificate.number == number):
            continue
        admin = await _principal(issuer)
        officer = await _principal(holder)
        detail = await certificate_issuing.issue(
            principal=admin,
            data=certificate_schemas.CertificateIn(
                number=number,
                holder_id=officer.user_id,
                domains=domains,
                valid_from=datetime(2026, 1, 1, tzinfo=UTC),
                valid_until=datetime(2031, 1, 1, tzinfo=UTC),
                qualification_review_ref="资格审查〔2025〕12号",
                exam=certificate_schemas.ExamResultIn(
                    exam_id="SX-2025-PUBLAW-07", exam_date=date(2025, 11, 8), score=86, passed=True
                ),
                document_ref="新司发〔2026〕1号",
            ),
        )
        if holder == "zhao":
            # docs/DEMO.md: 赵's certificate was suspended last month.
            await certificate_transitions.suspend(
                principal=admin,
                certificate_id=detail.id,
                data=certificate_schemas.SuspendIn(
                    reason="执法过错责任追究：暂停执法工作",
                    rule_breached="过错 Art.11(3)",
                    document_ref="新市监处〔2026〕9号",
                    card_recovered=True,
                ),
            )


async def _ensure_cases(settings: Settings) -> None:
    """Today's restaurant inspection (scenario 1) and the impound of counterfeit goods (scenario 2)."""
    salt = enforcement_service.party_salt(settings.effective_key_dir)
    today = clock.now().replace(hour=9, minute=30, second=0, microsecond=0)
    plans = [
        (
            "zhou",
            "wang",
            "li",
            "inspection",
            "street_occupation",
            "urban_management",
            "inspection",
            "某餐馆占道经营检查",
            "某餐馆",
            "organisation",
        ),
        (
            "market-admin",
            "qian",
            "zheng",
            "coercion",
            "counterfeit_goods",
            "market_supervision",
            "impound",
            "扣押假冒商品",
            "某商店经营者",
            "person",
        ),
    ]
    for admin_name, lead, assisting, kind, matter, domain, action_kind, title, party, party_kind in plans:
        case_id = _demo_id(f"case:{title}")
        admin = await _principal(admin_name)
        lead_p, assisting_p = await _principal(lead), await _principal(assisting)
        await enforcement_service.create_case(
            principal=admin,
            data=msgspec.convert(
                {
                    "id": str(case_id),
                    "kind": kind,
                    "title": title,
                    "matter": matter,
                    "domain": domain,
                    "legal_basis": "《中华人民共和国行政处罚法》",
                    "party": {"kind": party_kind, "name": party},
                    "location": "新绛县龙兴镇",
                    "officers": [
                        {"user_id": str(lead_p.user_id), "role": "lead"},
                        {"user_id": str(assisting_p.user_id), "role": "assisting"},
                    ],
                },
                enforcement_schemas.CaseIn,
            ),
            id_salt=salt,
        )
        action_id = _demo_id(f"action:{title}")
        if not await Action.exists().where(Action.id == action_id):
            await enforcement_actions.create_action(
                principal=admin,
                data=msgspec.convert(
                    {
                        "id": str(action_id),
                        "case_id": str(case_id),
                        "kind": action_kind,
                        "title": title,
                        "planned_at": today.isoformat(),
                        "planned_place": "新绛县龙兴镇",
                        "participant_ids": [str(lead_p.user_id), str(assisting_p.user_id)],
                    },
                    enforcement_action_schemas.ActionIn,
                ),
            )


async def load(settings: Settings) -> int:
    agencies = {spec.code: await _ensure_agency(spec) for spec in AGENCIES}
    created = [spec.username for spec in USERS if await _ensure_user(spec, agencies)]
    await _ensure_entrustment(agencies)
    await _ensure_certificates()
    await _ensure_cases(settings)
    print(f"demo data ready ({len(created)} new users). DEMO ONLY — every demo user's password is {DEMO_PASSWORD!r}:")
    for spec in USERS:
        print(f"  {spec.username:<14} {', '.join(spec.roles):<16} {spec.agency:<18} {spec.full_name}")
    return 0
