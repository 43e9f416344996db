"""Idempotent demo data: the cast of SCENARIOS.md (新绛县). Demo passwords only — never in production."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import msgspec

from backend.core.settings import Settings
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from backend.org.tables import User

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


async def load(settings: Settings) -> int:
    agencies = {spec.code: await _ensure_agency(spec) for spec in AGENCIES}
    created = [spec.username for spec in USERS if await _ensure_user(spec, agencies)]
    print(f"demo data ready ({len(created)} new users). DEMO ONLY — every demo user's password is {DEMO_PASSWORD!r}:")
    for spec in USERS:
        print(f"  {spec.username:<14} {', '.join(spec.roles):<16} {spec.agency:<18} {spec.full_name}")
    return 0
