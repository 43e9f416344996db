"""Standing rules the scenarios decide by: published discretion benchmarks with three tiers
and their factors (R-DISC-1..3) and each agency's major-decision catalog (R-LEGAL-3).

Scenario 4 (market supervision): a fine ≥ ¥100,000 is major; the food-safety benchmark's
middle tier is ¥100,000–¥300,000. Scenario 3 (comprehensive bureau): an order to demolish an
illegal building is major by its violation item.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from backend.decisions import standards
from backend.decisions import standards_schemas as schemas
from backend.decisions.tables import Benchmark, MajorCatalogEntry
from backend.demo.common import at, local, principal, today

YUAN = 100  # money is integer fen
FOOD_ITEM = "food-unsafe-sale"
BUILDING_ITEM = "illegal-building-demolition"


def _food_safety() -> dict[str, Any]:
    tiers = [("t1", "轻微", 50_000, 100_000), ("t2", "一般", 100_000, 300_000), ("t3", "严重", 300_000, 500_000)]
    criteria = ["货值金额较小，初次违法", "销售数量在 1,000 至 10,000 份之间", "销售数量超过 10,000 份或造成危害后果"]
    return {
        "matter": "food_safety",
        "title": "新绛县市场监督管理局食品安全行政处罚裁量基准",
        "adopting_document": "新市监发〔2026〕3号",
        "effective_from": (today() - timedelta(days=365)).isoformat(),
        "items": [
            {
                "code": FOOD_ITEM,
                "name": "经营不符合食品安全标准的食品",
                "violated_provision": "《中华人民共和国食品安全法》第三十四条",
                "penalty_provision": "《中华人民共和国食品安全法》第一百二十四条",
                "penalty_kinds": [
                    {"kind": "fine", "condition": "经营不符合食品安全标准的食品"},
                    {"kind": "confiscate_gains", "condition": "查实有违法所得"},
                    {"kind": "licence_revocation", "condition": "情节严重"},
                ],
                "fine_range": {"min_fen": 50_000 * YUAN, "max_fen": 500_000 * YUAN},
                "tiers": [
                    {
                        "code": code,
                        "name": name,
                        "criteria": criteria[i],
                        "factors": [f"f{i + 1}"],
                        "penalty_kinds": ["fine", "confiscate_gains"] + (["licence_revocation"] if i == 2 else []),
                        "fine_min_fen": low * YUAN,
                        "fine_max_fen": high * YUAN,
                        "penalty_benchmark": f"罚款 {low:,} 元至 {high:,} 元",
                    }
                    for i, (code, name, low, high) in enumerate(tiers)
                ],
                "factors": [
                    {"code": "f1", "text": criteria[0]},
                    {"code": "f2", "text": criteria[1]},
                    {"code": "f3", "text": criteria[2]},
                ],
                "no_penalty": [{"code": "np1", "text": "违法行为轻微并及时改正，没有造成危害后果"}],
                "lighter": [{"code": "l1", "text": "主动配合调查，如实陈述违法事实"}],
                "mitigated": [{"code": "m1", "text": "受他人胁迫或者诱骗实施违法行为"}],
                "heavier": [{"code": "h1", "text": "一年内因同一违法行为受过处罚"}],
            }
        ],
    }


def _illegal_building() -> dict[str, Any]:
    tiers = [
        ("t1", "较轻", "违法建筑面积 50 平方米以下"),
        ("t2", "一般", "违法建筑面积 50 至 200 平方米"),
        ("t3", "严重", "违法建筑面积 200 平方米以上"),
    ]
    return {
        "matter": "illegal_building",
        "title": "新绛县综合行政执法局违法建设行政处罚裁量基准",
        "adopting_document": "新综执发〔2026〕2号",
        "effective_from": (today() - timedelta(days=365)).isoformat(),
        "items": [
            {
                "code": BUILDING_ITEM,
                "name": "未取得建设工程规划许可证进行建设，无法采取改正措施消除影响",
                "violated_provision": "《中华人民共和国城乡规划法》第四十条",
                "penalty_provision": "《中华人民共和国城乡规划法》第六十四条",
                "penalty_kinds": [{"kind": "other", "condition": "无法采取改正措施消除影响的，限期拆除"}],
                "tiers": [
                    {"code": code, "name": name, "criteria": text, "factors": [f"a{i + 1}"], "penalty_kinds": ["other"]}
                    for i, (code, name, text) in enumerate(tiers)
                ],
                "factors": [{"code": f"a{i + 1}", "text": text} for i, (_, _, text) in enumerate(tiers)],
            }
        ],
    }


CATALOG = {
    "market-admin": {
        "category": "large_fine",
        "penalties": [{"kind": "fine", "threshold_fen": 100_000 * YUAN}],
        "description": "罚款数额在 10 万元以上",
        "legal_basis": "责任制 Art.20(1)；本局重大执法决定法制审核目录",
    },
    "zhou": {
        "category": "other",
        "item_codes": [BUILDING_ITEM],
        "description": "责令限期拆除违法建筑",
        "legal_basis": "责任制 Art.20(6)；本局重大执法决定法制审核目录",
    },
}


async def ensure_standards() -> dict[str, str]:
    """The published benchmark id per matter (food_safety, illegal_building)."""
    published: dict[str, str] = {}
    for admin_name, body in (("market-admin", _food_safety()), ("zhou", _illegal_building())):
        admin = await principal(admin_name)
        existing = (
            await Benchmark.select(Benchmark.id)
            .where(
                (Benchmark.agency == admin.agency_id) & (Benchmark.matter == body["matter"]) & (Benchmark.status == "published")
            )
            .first()
        )
        if existing is not None:
            published[body["matter"]] = str(existing["id"])
            continue
        with at(local(-380, 9)):
            created = await standards.create_benchmark(principal=admin, data=msgspec.convert(body, schemas.BenchmarkIn))
            await standards.publish_benchmark(principal=admin, benchmark_id=created.id)
        published[body["matter"]] = str(created.id)
        if not await MajorCatalogEntry.exists().where(MajorCatalogEntry.agency == admin.agency_id):
            with at(local(-380, 10)):
                entry = msgspec.convert(CATALOG[admin_name], schemas.CatalogEntryIn)
                await standards.add_catalog_entry(principal=admin, data=entry)
    return published
