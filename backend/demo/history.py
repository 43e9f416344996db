"""What had happened before the demo's today, written at the times it happened.

Scenario 3: the comprehensive bureau's case against an illegal building — opened, investigated,
a demolition order drafted, its notice served, reviewed by 孙, issued by 刘 and served on the
party more than six months ago; the public notice and its deadline (行政强制法 Art.44) ran out
long ago. Scenario 4: market supervision's food-safety case investigated by 钱 and 郑 for
three weeks, now in review & decision where the fine is drafted.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from backend.core.settings import Settings
from backend.decisions import declarations, drafts, execution, issuing, notices, review
from backend.decisions import schemas as decision_schemas
from backend.demo.captures import advance, file_record, take_photo
from backend.demo.common import at, demo_id, local, principal
from backend.demo.standards import BUILDING_ITEM
from backend.field import cases as case_service
from backend.field import declarations as field_declarations
from backend.field import schemas as field_schemas
from backend.field.tables import Case

DEMOLITION_CASE = demo_id("case:scenario-3:illegal-building")
FOOD_CASE = demo_id("case:scenario-4:food-safety")
DEMOLITION_DECISION_NO = "新综执罚〔2026〕8号"
DEMOLITION_OFFICERS = ("wang", "li", "ma", "hu", "guo")


async def open_case(
    settings: Settings, *, opened_by: str, case_id: UUID, body: dict[str, object], lead: str, assisting: tuple[str, ...]
) -> None:
    """The lead opens the case declaring on the recusal grounds; each assisting officer declares
    on it and ``opened_by`` (a supervisor or the agency head) assigns them (R-RCS-2)."""
    lead_principal = await principal(lead)
    officers = [{"user_id": str(lead_principal.user_id), "role": "lead"}]
    no_conflict = {"conflict": False, "statement": "本人与本案当事人无利害关系，无回避情形"}
    data = msgspec.convert({"id": str(case_id), **body, "officers": officers, "declaration": no_conflict}, field_schemas.CaseIn)
    salt = case_service.party_salt(settings.effective_key_dir)
    await case_service.create_case(principal=lead_principal, data=data, id_salt=salt)
    assigner = await principal(opened_by)
    for name in assisting:
        officer = await principal(name)
        declaration = msgspec.convert(no_conflict, field_schemas.CaseDeclarationIn)
        await field_declarations.declare_on_case(principal=officer, case_id=case_id, data=declaration)
        assignment = field_schemas.OfficerAssignmentIn(user_id=officer.user_id, role="assisting")
        await case_service.assign_officer(principal=assigner, case_id=case_id, data=assignment)


async def _declare(case_id: UUID, username: str, capacity: str, when: datetime) -> None:
    data = msgspec.convert(
        {"capacity": capacity, "conflict": False, "statement": "本人与本案当事人无利害关系，无回避情形"},
        decision_schemas.DeclarationIn,
    )
    with at(when):
        await declarations.declare_recusal(principal=await principal(username), case_id=case_id, data=data)


async def demolition_history(settings: Settings, benchmark_id: str) -> None:
    if await Case.exists().where(Case.id == DEMOLITION_CASE):
        return
    case_id = DEMOLITION_CASE
    with at(local(-260, 9)):
        await open_case(
            settings,
            opened_by="zhou",
            case_id=case_id,
            body={
                "kind": "penalty",
                "title": "龙兴镇某村张某某未经规划许可建设违法建筑案",
                "matter": "illegal_building",
                "domain": "illegal_building",
                "legal_basis": "《中华人民共和国城乡规划法》第四十条、第六十四条",
                "party": {"kind": "person", "name": "张某某"},
                "location": "新绛县龙兴镇某村村东",
            },
            lead="wang",
            assisting=DEMOLITION_OFFICERS[1:],
        )
    with at(local(-260, 10)):
        await file_record(settings, username="wang", case_id=case_id, title="立案审批表", at_time=local(-260, 10))
        await advance(username="wang", case_id=case_id, to_stage="investigation")
    with at(local(-250, 10)):
        await file_record(settings, username="wang", case_id=case_id, title="现场勘验笔录", at_time=local(-250, 10))
        await file_record(settings, username="li", case_id=case_id, title="询问笔录（张某某）", at_time=local(-250, 11))
    with at(local(-240, 9)):
        await advance(username="wang", case_id=case_id, to_stage="review_decision")
    for name in DEMOLITION_OFFICERS:
        await _declare(case_id, name, "handler", local(-240, 10))
    await _declare(case_id, "sun", "reviewer", local(-240, 11))
    await _declare(case_id, "liu", "approver", local(-240, 11))
    await _demolition_decision(settings, case_id, benchmark_id)
    with at(local(-200, 9)):
        # 行政强制法 Art.44: the public notice giving the party a deadline to remove it himself.
        await file_record(
            settings, username="wang", case_id=case_id, title="限期自行拆除公告（现场张贴照片）", at_time=local(-200, 9)
        )
    with at(local(-185, 10)):
        await file_record(settings, username="li", case_id=case_id, title="催告书及送达回证", at_time=local(-185, 10))


async def _demolition_decision(settings: Settings, case_id: UUID, benchmark_id: str) -> UUID:
    wang = await principal("wang")
    draft = msgspec.convert(
        {
            "benchmark_id": benchmark_id,
            "item_code": BUILDING_ITEM,
            "circumstances": ["a2"],
            "penalties": [{"kind": "other", "detail": "责令当事人自收到决定书之日起十日内自行拆除违法建筑"}],
            "facts": "当事人未取得建设工程规划许可证，在龙兴镇某村村东建设砖混结构房屋一处，面积 126 平方米。",
            "reasons": "该建筑无法采取改正措施消除对规划实施的影响，应当限期拆除。",
            "legal_basis": "《中华人民共和国城乡规划法》第六十四条",
        },
        decision_schemas.DraftIn,
    )
    with at(local(-238, 9)):
        view = await drafts.create_draft(principal=wang, case_id=case_id, data=draft)
    decision = view.decision
    with at(local(-238, 10)):
        await notices.generate_notice(principal=wang, decision_id=decision.id, data=decision_schemas.NoticeIn())
    served_at = local(-237, 10)
    with at(served_at):
        receipt = await take_photo(settings, username="wang", case_id=case_id, label="行政处罚告知书送达回证", taken_at=served_at)
        service = decision_schemas.NoticeServiceIn(
            served_at=served_at, method="direct", recipient="张某某", proof_evidence_id=receipt
        )
        await notices.record_notice_service(principal=wang, decision_id=decision.id, data=service)
    with at(local(-230, 10)):
        opinion = decision_schemas.ReviewIn(
            draft_sha256=decision.draft_sha256, outcome="passed", opinion="事实清楚，证据确凿，适用依据正确，程序合法。"
        )
        await review.review_decision(principal=await principal("sun"), decision_id=decision.id, data=opinion)
    with at(local(-228, 15)):
        issue = decision_schemas.IssueIn(decision_no=DEMOLITION_DECISION_NO, draft_sha256=decision.draft_sha256)
        await issuing.issue_decision(principal=await principal("liu"), decision_id=decision.id, data=issue)
    decision_served = local(-227, 10)
    with at(decision_served):
        # The decision served on the party, with the announced deadline to remove it himself
        # (行政强制法 Art.44); six months to sue have long run (backend/decisions/execution.py).
        proof = await take_photo(settings, username="wang", case_id=case_id, label="处罚决定书送达回证", taken_at=decision_served)
        decision_service = execution.DecisionServiceIn(
            served_at=decision_served,
            method="direct",
            recipient="张某某",
            proof_evidence_id=proof,
            compliance_deadline=local(-190, 0),
            announcement_ref="新综执告〔2026〕8号",
        )
        await execution.record_decision_service(principal=wang, decision_id=decision.id, data=decision_service)
    return decision.id


async def food_safety_history(settings: Settings) -> None:
    if await Case.exists().where(Case.id == FOOD_CASE):
        return
    case_id = FOOD_CASE
    with at(local(-20, 9)):
        await open_case(
            settings,
            opened_by="jiang",
            case_id=case_id,
            body={
                "kind": "penalty",
                "title": "新绛县某餐饮有限公司经营不符合食品安全标准的食品案",
                "matter": "food_safety",
                "domain": "food_safety",
                "legal_basis": "《中华人民共和国食品安全法》第三十四条、第一百二十四条",
                "party": {"kind": "organisation", "name": "新绛县某餐饮有限公司"},
                "location": "新绛县龙兴镇府西街 18 号",
            },
            lead="qian",
            assisting=("zheng",),
        )
    with at(local(-20, 10)):
        await file_record(settings, username="qian", case_id=case_id, title="立案审批表", at_time=local(-20, 10))
        await advance(username="qian", case_id=case_id, to_stage="investigation")
    with at(local(-15, 10)):
        await file_record(settings, username="qian", case_id=case_id, title="现场检查笔录", at_time=local(-15, 10))
        await file_record(settings, username="zheng", case_id=case_id, title="抽样检验报告", at_time=local(-15, 11))
        await file_record(settings, username="zheng", case_id=case_id, title="询问笔录（法定代表人）", at_time=local(-15, 14))
    with at(local(-2, 16)):
        await advance(username="qian", case_id=case_id, to_stage="review_decision")
    for name in ("qian", "zheng"):
        await _declare(case_id, name, "handler", local(-2, 16, 30))
