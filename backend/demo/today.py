"""The demo's today: the cases opened this morning and every action planned for today, at
local working hours in 新绛县 (Asia/Shanghai).

Scenario 1: 王 and 李 inspect a restaurant at 09:30; the market's routine inspection at 10:00
puts 赵 (certificate suspended) on the roster, so his check-in is refused. Scenario 2: 钱 and 郑
impound counterfeit goods at 10:30 (mandatory audio-video). Scenario 3: the forced demolition
at 14:30 with five officers. The township's land inspection at 15:00 is 陈's, under the
natural-resources entrustment (land inspection only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec

from backend.core.settings import Settings
from backend.demo.captures import advance, file_record
from backend.demo.common import at, demo_id, local, principal
from backend.demo.history import DEMOLITION_CASE, DEMOLITION_OFFICERS, open_case
from backend.field import action_schemas
from backend.field import actions as action_service
from backend.field.tables import Action, Case

RESTAURANT_CASE = demo_id("case:scenario-1:restaurant")
RESTAURANT_ACTION = demo_id("action:scenario-1:restaurant")
MARKET_ROUTINE_CASE = demo_id("case:scenario-1:supermarket")
MARKET_ROUTINE_ACTION = demo_id("action:scenario-1:supermarket")
IMPOUND_CASE = demo_id("case:scenario-2:counterfeit")
IMPOUND_ACTION = demo_id("action:scenario-2:impound")
DEMOLITION_ACTION = demo_id("action:scenario-3:demolition")
LAND_CASE = demo_id("case:township:land")
LAND_ACTION = demo_id("action:township:land")

LONGXING = "新绛县龙兴镇"


@dataclass(frozen=True)
class Plan:
    action_id: UUID
    case_id: UUID
    planner: str
    kind: str
    title: str
    planned_at: datetime
    place: str
    participants: tuple[str, ...]
    coercion_reason: str = ""


async def _plan(plan: Plan) -> None:
    if await Action.exists().where(Action.id == plan.action_id):
        return
    body = {
        "id": str(plan.action_id),
        "case_id": str(plan.case_id),
        "kind": plan.kind,
        "title": plan.title,
        "planned_at": plan.planned_at.isoformat(),
        "planned_place": plan.place,
        "participant_ids": [str((await principal(name)).user_id) for name in plan.participants],
        "coercion_reason": plan.coercion_reason,
    }
    await action_service.create_action(
        principal=await principal(plan.planner), data=msgspec.convert(body, action_schemas.ActionIn)
    )


async def _case(settings: Settings, case_id: UUID, opened_by: str, lead: str, assisting: tuple[str, ...], **body: object) -> None:
    if not await Case.exists().where(Case.id == case_id):
        await open_case(settings, opened_by=opened_by, case_id=case_id, body=body, lead=lead, assisting=assisting)


async def morning_cases(settings: Settings) -> None:
    """Opened at 08:30 this morning (or now, when the demo runs earlier)."""
    with at(local(0, 8, 30)):
        await _case(
            settings, RESTAURANT_CASE, "liu", "wang", ("li",),
            kind="inspection", title="某餐馆日常检查", matter="street_occupation", domain="urban_management",
            legal_basis="《城市市容和环境卫生管理条例》第十四条", party={"kind": "organisation", "name": "新绛县某餐馆"},
            location=f"{LONGXING}府东街 6 号",
        )  # fmt: skip
        await _inspection_under_way(settings)
        await _case(
            settings, MARKET_ROUTINE_CASE, "jiang", "zheng", ("zhao",),
            kind="inspection", title="某超市食品安全日常检查", matter="food_safety", domain="food_safety",
            legal_basis="《中华人民共和国食品安全法》第一百一十条", party={"kind": "organisation", "name": "新绛县某超市"},
            location=f"{LONGXING}正平街 22 号",
        )  # fmt: skip
        await _case(
            settings, IMPOUND_CASE, "jiang", "qian", ("zheng",),
            kind="coercion", title="某商店销售假冒注册商标商品案（投诉举报）", matter="counterfeit_goods",
            domain="market_supervision", legal_basis="《中华人民共和国商标法》第六十条、第六十二条",
            party={"kind": "person", "name": "郑某"}, location=f"{LONGXING}新华街 9 号",
        )  # fmt: skip
        await _case(
            settings, LAND_CASE, "chen", "chen", (),
            kind="inspection", title="某村疑似违法占用耕地现场检查", matter="land_inspection", domain="land_use",
            legal_basis="《中华人民共和国土地管理法》第六十七条", party={"kind": "person", "name": "孔某某"},
            location="某镇某村西侧耕地",
        )  # fmt: skip


async def _inspection_under_way(settings: Settings) -> None:
    """The restaurant inspection's task sheet is on file and the case is in investigation, so the
    action's photos are that stage's record (R-REC-1)."""
    stage = await Case.select(Case.stage).where(Case.id == RESTAURANT_CASE).first()
    if stage is not None and stage["stage"] == "initiation":
        sheet = "现场检查任务单"
        await file_record(settings, username="wang", case_id=RESTAURANT_CASE, title=sheet, at_time=local(0, 8, 30))
        await advance(username="wang", case_id=RESTAURANT_CASE, to_stage="investigation")


PLANS = [
    Plan(RESTAURANT_ACTION, RESTAURANT_CASE, "liu", "inspection", "某餐馆厨房卫生与占道经营检查", local(0, 9, 30),
         f"{LONGXING}府东街 6 号 某餐馆", ("wang", "li")),
    Plan(MARKET_ROUTINE_ACTION, MARKET_ROUTINE_CASE, "jiang", "inspection", "某超市食品安全日常检查", local(0, 10),
         f"{LONGXING}正平街 22 号 某超市", ("zheng", "zhao")),
    Plan(IMPOUND_ACTION, IMPOUND_CASE, "jiang", "impound", "扣押假冒注册商标商品", local(0, 10, 30),
         f"{LONGXING}新华街 9 号 某商店", ("qian", "zheng"),
         "当事人拒不停止销售假冒商品，责令改正无效，不扣押将继续流入市场（《行政强制法》第二十四条）"),
    Plan(DEMOLITION_ACTION, DEMOLITION_CASE, "liu", "forced_demolition", "强制拆除龙兴镇某村违法建筑", local(0, 14, 30),
         f"{LONGXING}某村村东", DEMOLITION_OFFICERS,
         "当事人在决定书和公告限定的期限内未自行拆除，亦未申请行政复议或提起行政诉讼（《行政强制法》第四十四条）"),
    Plan(LAND_ACTION, LAND_CASE, "chen", "inspection", "某村耕地现场检查", local(0, 15), "某镇某村西侧耕地", ("chen",)),
]  # fmt: skip


async def todays_actions() -> None:
    with at(local(0, 8, 45)):
        for plan in PLANS:
            await _plan(plan)
