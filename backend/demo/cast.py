"""The demo's cast (docs/DEMO.md): agencies of 新绛县, their people and legal-review units,
the designated legal reviewers, enforcement certificates (赵's suspended last month) and the
natural-resources entrustment of the township (on-site land inspection, one year)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import msgspec

from backend.decisions import reviewers
from backend.decisions import standards_schemas as decision_standards
from backend.demo.common import DEMO_PASSWORD, at, local, principal, today
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from backend.org.tables import Entrustment, Unit, User
from certificates import issuing as certificate_issuing
from certificates import schemas as certificate_schemas
from certificates import transitions as certificate_transitions
from certificates.tables import Certificate


@dataclass(frozen=True)
class DemoAgency:
    code: str
    name: str
    kind: str
    domains: tuple[str, ...] = ()
    matters: tuple[str, ...] = ()
    announcement_no: str = ""


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    agency: str
    roles: tuple[str, ...]
    staff_no: str
    legal_qualification_no: str = ""
    note: str = ""


AGENCIES = [
    DemoAgency("county", "新绛县人民政府", "county_government"),
    DemoAgency("justice", "新绛县司法局", "justice_bureau"),
    DemoAgency(
        "comprehensive",
        "新绛县综合行政执法局",
        "enforcement_agency",
        ("urban_management", "illegal_building"),
        ("illegal_building", "street_occupation", "forced_demolition", "catering_inspection"),
        "新政办发〔2022〕28号",
    ),
    DemoAgency(
        "market",
        "新绛县市场监督管理局",
        "enforcement_agency",
        ("market_supervision", "food_safety"),
        ("food_safety", "unlicensed_business", "counterfeit_goods"),
        "新政办发〔2022〕28号",
    ),
    DemoAgency(
        "natural-resources",
        "新绛县自然资源局",
        "enforcement_agency",
        ("land_use",),
        ("land_inspection", "illegal_land_use"),
        "新政办发〔2022〕28号",
    ),
    # Registered pending; the county government's confirmation is recorded later (``confirm_township``).
    DemoAgency("township", "某镇人民政府", "entrusted_organisation", ("land_use",), ()),
]
TOWNSHIP_ANNOUNCEMENT = "新政办发〔2026〕5号"

USERS = [
    DemoUser("zhou", "周伟", "comprehensive", ("admin",), "ZH-0001"),
    DemoUser("wang", "王强", "comprehensive", ("officer",), "ZH-0101", note="主办执法人员"),
    DemoUser("li", "李明", "comprehensive", ("officer",), "ZH-0102", note="协办执法人员"),
    DemoUser("ma", "马超", "comprehensive", ("officer",), "ZH-0103"),
    DemoUser("hu", "胡斌", "comprehensive", ("officer",), "ZH-0104"),
    DemoUser("guo", "郭涛", "comprehensive", ("officer",), "ZH-0105"),
    DemoUser("liu", "刘洋", "comprehensive", ("supervisor",), "ZH-0201"),
    DemoUser("sun", "孙静", "comprehensive", ("legal_reviewer",), "ZH-0301", "A20191401234", "法律职业资格"),
    DemoUser("market-admin", "吴军", "market", ("admin",), "SC-0001"),
    DemoUser("qian", "钱磊", "market", ("officer",), "SC-0102"),
    DemoUser("zheng", "郑华", "market", ("officer",), "SC-0103"),
    DemoUser("zhao", "赵刚", "market", ("officer",), "SC-0101", note="执法证上月被暂扣"),
    DemoUser("han", "韩冰", "market", ("officer",), "SC-0104", note="扣押现场的替换人员"),
    DemoUser("jiang", "蒋敏", "market", ("supervisor",), "SC-0201"),
    DemoUser("shen", "沈洁", "market", ("legal_reviewer",), "SC-0301", "A20181405678", "法律职业资格"),
    DemoUser("nr-admin", "褚明", "natural-resources", ("admin",), "ZR-0001"),
    DemoUser("chen", "陈晨", "township", ("officer",), "TW-0101", note="受委托实施土地现场检查"),
    DemoUser("justice-admin", "冯涛", "justice", ("admin",), "SF-0001"),
]

# (holder, certificate number, domains); the Justice Bureau issues them all (R-CERT-1).
CERTIFICATES = [
    ("wang", "14082500101", ["urban_management", "illegal_building"]),
    ("li", "14082500102", ["urban_management", "illegal_building"]),
    ("ma", "14082500103", ["urban_management", "illegal_building"]),
    ("hu", "14082500104", ["urban_management", "illegal_building"]),
    ("guo", "14082500105", ["urban_management", "illegal_building"]),
    ("zhao", "14082500201", ["market_supervision", "food_safety"]),
    ("qian", "14082500202", ["market_supervision", "food_safety"]),
    ("zheng", "14082500203", ["market_supervision", "food_safety"]),
    ("han", "14082500204", ["market_supervision", "food_safety"]),
    ("chen", "14082500301", ["land_use"]),
]

# (agency admin, legal reviewer) designated in the agency's legal-review unit (R-LEGAL-1/2).
REVIEWERS = [("zhou", "sun"), ("market-admin", "shen")]


async def ensure_agencies() -> dict[str, org_schemas.AgencyOut]:
    agencies: dict[str, org_schemas.AgencyOut] = {}
    for spec in AGENCIES:
        existing = await org_service.get_agency_by_code(code=spec.code)
        if existing is None:
            confirmed = bool(spec.announcement_no)
            data = org_schemas.AgencyIn(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,  # type: ignore[arg-type]
                subject_status="confirmed" if confirmed else "pending",
                announcement_no=spec.announcement_no,
                announcement_date=date(2022, 11, 1) if confirmed else None,
                domains=list(spec.domains),
                matters=list(spec.matters),
                separation_mode="block" if spec.kind == "enforcement_agency" else "warn",
            )
            existing = await org_service.create_agency(data=data)
        agencies[spec.code] = existing
    return agencies


async def confirm_township(agencies: dict[str, org_schemas.AgencyOut]) -> None:
    """R-AGY-1: the Justice Bureau records the county government's confirmation of the township
    as an enforcement subject, with the announcement, before the entrustment (ledgered)."""
    if agencies["township"].subject_status == "confirmed":
        return
    with at(local(-90, 10)):
        confirmation = org_schemas.AgencyConfirmationIn(
            announcement_no=TOWNSHIP_ANNOUNCEMENT, announcement_date=today() - timedelta(days=92)
        )
        confirmed = await org_service.confirm_agency(
            principal=await principal("justice-admin"), agency_id=agencies["township"].id, data=confirmation
        )
    agencies["township"] = confirmed


async def ensure_users(agencies: dict[str, org_schemas.AgencyOut]) -> list[str]:
    created: list[str] = []
    for spec in USERS:
        if await User.exists().where(User.username == spec.username):
            continue
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
        created.append(spec.username)
    return created


async def ensure_reviewers() -> None:
    """Each enforcement agency's legal-review unit (法制审核科) with its designated reviewer."""
    for admin_name, reviewer in REVIEWERS:
        admin = await principal(admin_name)
        if await Unit.exists().where((Unit.agency == admin.agency_id) & (Unit.kind == "legal_review")):
            continue
        unit = await org_service.create_unit(principal=admin, data=org_schemas.UnitIn(name="法制审核科", kind="legal_review"))
        designation = decision_standards.ReviewerDesignationIn(user_id=(await principal(reviewer)).user_id, unit_id=unit.id)
        with at(local(-390, 9)):
            await reviewers.designate_reviewer(principal=admin, data=designation)


async def ensure_certificates(*, entrusted: bool) -> None:
    """Issued by the Justice Bureau a year ago, valid for five years; the township's 陈 only
    once the entrustment gives the township a domain to certify (``entrusted``)."""
    justice = await principal("justice-admin")
    for holder, number, domains in CERTIFICATES:
        if (holder == "chen") != entrusted or await Certificate.exists().where(Certificate.number == number):
            continue
        officer = await principal(holder)
        with at(local(-59 if entrusted else -370, 10)):
            await certificate_issuing.issue(
                principal=justice,
                data=certificate_schemas.CertificateIn(
                    number=number,
                    holder_id=officer.user_id,
                    domains=domains,
                    valid_from=local(-365, 0),
                    valid_until=local(4 * 365, 0),
                    qualification_review_ref="资格审查〔2025〕12号",
                    exam=certificate_schemas.ExamResultIn(
                        exam_id="SX-2025-PUBLAW-07", exam_date=today() - timedelta(days=400), score=86, passed=True
                    ),
                    document_ref="新司发〔2026〕1号",
                ),
            )


async def suspend_zhao() -> None:
    """赵's certificate was suspended last month (fault accountability, card taken back)."""
    justice = await principal("justice-admin")
    number = next(number for holder, number, _ in CERTIFICATES if holder == "zhao")
    row = await Certificate.select(Certificate.id, Certificate.status).where(Certificate.number == number).first()
    if row is None or row["status"] != "active":
        return
    with at(local(-30, 15)):
        await certificate_transitions.suspend(
            principal=justice,
            certificate_id=row["id"],
            data=certificate_schemas.SuspendIn(
                reason="执法过错责任追究：暂停执法工作",
                rule_breached="过错 Art.11(3)",
                document_ref="新市监处〔2026〕9号",
                card_recovered=True,
            ),
        )


async def ensure_entrustment(agencies: dict[str, org_schemas.AgencyOut]) -> None:
    """自然资源局 entrusts the township with on-site land inspections for one year (letter)."""
    if await Entrustment.exists().where(Entrustment.entrusted_agency == agencies["township"].id):
        return
    with at(local(-60, 9)):
        await org_service.create_entrustment(
            principal=await principal("nr-admin"),
            data=org_schemas.EntrustmentIn(
                entrusted_agency_id=agencies["township"].id,
                legal_basis="《中华人民共和国行政处罚法》第二十条",
                matters=["land_inspection"],
                domains=["land_use"],
                action_kinds=["inspection"],
                authority="现场检查、制作检查笔录",
                valid_from=local(-60, 0),
                valid_until=local(365 - 60, 0),
                letter_ref="新自然资委〔2026〕3号",
            ),
        )
