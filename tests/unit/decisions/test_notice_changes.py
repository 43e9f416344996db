"""A draft revised after the written notice: which changes need a new notice (R-DISC-7)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from backend.decisions import notice_changes, schemas
from tests.unit.decisions.test_discretion import YUAN, fine, item

pytestmark = pytest.mark.requirement("R-DISC-7")


def draft(*penalties: schemas.PenaltyIn, circumstances: tuple[str, ...] = ("f2",), **text: Any) -> schemas.DraftIn:
    return schemas.DraftIn(
        benchmark_id=uuid.UUID(int=1),
        item_code="food-unsafe-sale",
        circumstances=list(circumstances),
        penalties=list(penalties) or [fine(200_000)],
        facts=text.get("facts", "当事人销售不符合食品安全标准的熟食 5,000 份。"),
        reasons=text.get("reasons", "违反食品安全法第三十四条。"),
        legal_basis=text.get("legal_basis", "食品安全法 第一百二十四条第一款"),
        deviation_reason=text.get("deviation_reason", ""),
    )


def changes(notified: schemas.DraftIn, current: schemas.DraftIn) -> list[str]:
    return notice_changes.heavier_changes(notified, current, item())


def test_the_same_grounds_and_a_lighter_outcome_keep_the_notice() -> None:
    told = draft(fine(200_000))
    assert changes(told, told) == []
    assert changes(told, draft(fine(150_000))) == []
    assert changes(told, draft(fine(150_000), circumstances=("f2", "l1"))) == []
    # Whitespace is not a new fact; the deviation reason is not part of the notice.
    assert changes(told, draft(fine(200_000), facts=" 当事人销售不符合食品安全标准的熟食 5,000 份。\n")) == []
    assert changes(told, msgspec.structs.replace(told, deviation_reason="拒不配合")) == []


def test_new_facts_reasons_or_basis_need_a_new_notice() -> None:
    told = draft()
    assert changes(told, draft(facts="当事人销售不符合食品安全标准的熟食 12,000 份。")) == ["the facts changed since the notice"]
    assert changes(told, draft(reasons="另违反第三十五条。")) == ["the reasons changed since the notice"]
    assert changes(told, draft(legal_basis="食品安全法 第一百二十四条第二款")) == ["the legal basis changed since the notice"]
    other_item = msgspec.structs.replace(told, item_code="food-no-licence")
    assert changes(told, other_item)[0].startswith("the violation item changed")


def test_revised_facts_with_a_lighter_outcome_keep_the_notice() -> None:
    """Scenario 4: the hearing shows fewer units sold; the facts are corrected, the fine lowered."""
    told = draft(fine(200_000))
    fewer = "经补充调查，当事人销售不符合食品安全标准的熟食 3,200 份。"
    assert changes(told, draft(fine(180_000), facts=fewer)) == []
    # The same fine on other facts, or other facts with anything heavier, still needs one.
    assert changes(told, draft(fine(200_000), facts=fewer)) == ["the facts changed since the notice"]
    assert changes(told, draft(fine(180_000), circumstances=("f2", "h1"), facts=fewer)) == [
        "the facts changed since the notice",
        "heavier circumstance h1 is now applied",
    ]


def test_a_heavier_outcome_needs_a_new_notice() -> None:
    told = draft(fine(200_000))
    assert changes(told, draft(fine(250_000))) == [f"fine was raised from {200_000 * YUAN} to {250_000 * YUAN} fen"]
    gains = schemas.PenaltyIn(kind="confiscate_gains", amount_fen=1_000 * YUAN)
    assert changes(told, draft(fine(200_000), gains)) == ["penalty confiscate_gains was added"]
    assert changes(told, draft(fine(200_000), circumstances=("f2", "h1"))) == ["heavier circumstance h1 is now applied"]
    lighter_told = draft(fine(200_000), circumstances=("f2", "l1"))
    assert changes(lighter_told, draft(fine(200_000))) == ["lighter circumstance l1 no longer applies"]
    assert changes(told, draft(fine(200_000), circumstances=("f3",))) == [
        "the circumstances now place the case in a heavier tier"
    ]
