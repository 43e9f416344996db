"""Pure discretion rules: benchmark tiers, proposals, deviations, major matching, hashing."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.errors import InvalidInput
from backend.decisions import discretion, schemas

YUAN = 100


def item(tiers: int = 3, **overrides: Any) -> schemas.ViolationItem:
    bounds = [(50_000, 100_000), (100_000, 300_000), (300_000, 500_000)][:tiers]
    raw: dict[str, Any] = {
        "code": "food-unsafe-sale",
        "name": "Selling food that fails safety standards",
        "violated_provision": "食品安全法 第三十四条",
        "penalty_provision": "食品安全法 第一百二十四条",
        "penalty_kinds": [
            {"kind": "warning", "condition": "first minor violation corrected at once"},
            {"kind": "fine", "condition": "any sale of unsafe food"},
            {"kind": "confiscate_gains", "condition": "illegal gains established"},
            {"kind": "licence_revocation", "condition": "serious circumstances"},
        ],
        "fine_range": {"min_fen": 50_000 * YUAN, "max_fen": 500_000 * YUAN},
        "tiers": [
            {
                "code": f"t{i + 1}",
                "name": f"tier {i + 1}",
                "criteria": f"criteria of tier {i + 1}",
                "factors": [f"f{i + 1}"],
                "penalty_kinds": ["fine", "confiscate_gains"] + (["licence_revocation"] if i == 2 else []),
                "fine_min_fen": low * YUAN,
                "fine_max_fen": high * YUAN,
            }
            for i, (low, high) in enumerate(bounds)
        ],
        "factors": [{"code": f"f{i}", "text": f"fact {i}"} for i in (1, 2, 3)],
        "no_penalty": [{"code": "np1", "text": "minor, corrected, no harm"}],
        "lighter": [{"code": "l1", "text": "cooperated actively"}],
        "mitigated": [{"code": "m1", "text": "coerced by others"}],
        "heavier": [{"code": "h1", "text": "repeat offence within a year"}],
    }
    raw.update(overrides)
    return msgspec.convert(raw, schemas.ViolationItem)


def fine(amount_yuan: int) -> schemas.PenaltyIn:
    return schemas.PenaltyIn(kind="fine", amount_fen=amount_yuan * YUAN)


@pytest.mark.requirement("R-DISC-2")
def test_ranged_penalty_with_two_tiers_cannot_be_published() -> None:
    with pytest.raises(discretion.BenchmarkTiersInsufficient) as caught:
        discretion.check_publishable([item(tiers=2)])
    assert caught.value.field == "items[0].tiers"
    discretion.check_publishable([item(tiers=3)])


@pytest.mark.requirement("R-DISC-2")
def test_tier_outside_the_statutory_range_is_refused() -> None:
    broken = msgspec.structs.replace(item(), fine_range=schemas.FineRange(min_fen=60_000 * YUAN, max_fen=500_000 * YUAN))
    with pytest.raises(InvalidInput, match="within the statutory fine_range"):
        discretion.check_benchmark_structure([broken])


def test_tier_factors_must_be_listed() -> None:
    raw = msgspec.to_builtins(item())
    raw["tiers"][0]["factors"] = ["nope"]
    with pytest.raises(InvalidInput, match="nope"):
        discretion.check_benchmark_structure([msgspec.convert(raw, schemas.ViolationItem)])


@pytest.mark.requirement("R-DISC-3")
def test_proposal_follows_factors_and_circumstances() -> None:
    middle = discretion.propose(item(), ["f2"])
    assert (middle.tier_code, middle.fine_min_fen, middle.fine_max_fen) == ("t2", 100_000 * YUAN, 300_000 * YUAN)
    assert middle.applied["factors"] == ["f2"]
    heaviest = discretion.propose(item(), ["f1", "f3"])
    assert heaviest.tier_code == "t3"
    lighter = discretion.propose(item(), ["f2", "l1"])
    assert (lighter.fine_min_fen, lighter.fine_max_fen, lighter.adjustment) == (100_000 * YUAN, 200_000 * YUAN, "lighter")
    heavier = discretion.propose(item(), ["f2", "h1"])
    assert (heavier.fine_min_fen, heavier.fine_max_fen) == (200_000 * YUAN, 300_000 * YUAN)
    none = discretion.propose(item(), ["np1", "f3"])
    assert none.outcome == "no_penalty"


def test_unknown_circumstance_is_named() -> None:
    with pytest.raises(InvalidInput, match="zz") as caught:
        discretion.propose(item(), ["f1", "zz"])
    assert caught.value.field == "circumstances"


@pytest.mark.requirement("R-DISC-4")
def test_statutory_limits_hold_whatever_the_reason() -> None:
    proposal = discretion.propose(item(), ["f2"])
    with pytest.raises(discretion.PenaltyOutsideLaw, match="above the statutory maximum"):
        discretion.check_penalties(item(), [fine(600_000)], proposal)
    with pytest.raises(discretion.PenaltyOutsideLaw, match="below the statutory minimum"):
        discretion.check_penalties(item(), [fine(10_000)], proposal)
    with pytest.raises(discretion.PenaltyOutsideLaw, match="no-penalty"):
        discretion.check_penalties(item(), [], proposal)
    with pytest.raises(discretion.PenaltyOutsideLaw, match="not provided"):
        discretion.check_penalties(item(), [schemas.PenaltyIn(kind="detention")], proposal)
    mitigated = discretion.propose(item(), ["f2", "m1"])
    discretion.check_penalties(item(), [fine(10_000)], mitigated)
    assert (mitigated.fine_min_fen, mitigated.fine_max_fen) == (0, 50_000 * YUAN)


@pytest.mark.requirement("R-DISC-5")
def test_amount_outside_the_tier_needs_a_reason() -> None:
    proposal = discretion.propose(item(), ["f2"])
    found = discretion.deviation([fine(350_000)], proposal)
    assert found.deviates
    with pytest.raises(discretion.DeviationReasonRequired) as caught:
        discretion.require_reason(found, "  ")
    assert caught.value.field == "deviation_reason"
    discretion.require_reason(found, "quantity sold far above the tier's typical case")
    assert not discretion.deviation([fine(200_000)], proposal).deviates
    assert discretion.deviation([schemas.PenaltyIn(kind="licence_revocation"), fine(200_000)], proposal).deviates


@given(
    st.integers(min_value=50_000, max_value=500_000),
    st.sampled_from([[], ["l1"], ["h1"], ["l1", "h1"]]),
    st.sampled_from(["f1", "f2", "f3"]),
)
def test_proposed_range_stays_inside_its_tier(amount: int, adjust: list[str], factor: str) -> None:
    proposal = discretion.propose(item(), [factor, *adjust])
    tier = next(t for t in item().tiers if t.code == proposal.tier_code)
    assert proposal.fine_min_fen is not None
    assert proposal.fine_max_fen is not None
    assert tier.fine_min_fen is not None
    assert tier.fine_max_fen is not None
    assert tier.fine_min_fen <= proposal.fine_min_fen <= proposal.fine_max_fen <= tier.fine_max_fen
    inside = proposal.fine_min_fen <= amount * YUAN <= proposal.fine_max_fen
    assert discretion.deviation([fine(amount)], proposal).deviates is not inside


def catalog(category: str, *penalties: tuple[str, int | None], items: tuple[str, ...] = ()) -> discretion.CatalogRule:
    listed = tuple(discretion.CatalogPenalty(kind=kind, threshold_fen=threshold) for kind, threshold in penalties)
    return discretion.CatalogRule(id=uuid.uuid4(), category=category, penalties=listed, item_codes=items)


@pytest.mark.requirement("R-LEGAL-3")
def test_major_matching_by_threshold_kind_and_item() -> None:
    rule = catalog("large_fine", ("fine", 100_000 * YUAN))
    assert discretion.major_matches([rule], item_code="x", penalties=[fine(200_000)])[0].category == "large_fine"
    assert discretion.major_matches([rule], item_code="x", penalties=[fine(100_000)])
    assert not discretion.major_matches([rule], item_code="x", penalties=[fine(99_999)])
    revocation = discretion.major_matches([], item_code="x", penalties=[schemas.PenaltyIn(kind="licence_revocation")])
    assert revocation[0].category == "licence_downgrade_revocation"
    other = catalog("other", items=("x",))
    assert discretion.major_matches([other], item_code="x", penalties=[])
    assert not discretion.major_matches([other], item_code="y", penalties=[fine(999_999)])


@pytest.mark.requirement("R-LEGAL-3")
def test_a_catalog_threshold_holds_per_penalty_kind_not_or_ed_with_the_kind() -> None:
    """Issue 14 Found 10: an entry with a threshold that lists 'fine' made every fine major."""
    large_fines = catalog("large_fine", ("fine", 100_000 * YUAN))
    assert not discretion.major_matches([large_fines], item_code="x", penalties=[fine(5_000)])
    # Each kind its own figure: a small fine with a large confiscation is major by the confiscation.
    both = catalog("large_confiscation", ("confiscate_gains", 50_000 * YUAN), ("confiscate_property", 80_000 * YUAN))
    gains = schemas.PenaltyIn(kind="confiscate_gains", amount_fen=60_000 * YUAN)
    property_ = schemas.PenaltyIn(kind="confiscate_property", amount_fen=60_000 * YUAN)
    assert discretion.major_matches([both, large_fines], item_code="x", penalties=[fine(5_000), gains])[0].category == (
        "large_confiscation"
    )
    assert not discretion.major_matches([both, large_fines], item_code="x", penalties=[fine(5_000), property_])
    # A kind without amount matches whenever imposed; items narrow an entry (both must hold).
    suspension = catalog("other", ("licence_suspension", None), items=("x",))
    suspended = [schemas.PenaltyIn(kind="licence_suspension")]
    assert discretion.major_matches([suspension], item_code="x", penalties=suspended)
    assert not discretion.major_matches([suspension], item_code="y", penalties=suspended)
    assert not discretion.major_matches([suspension], item_code="x", penalties=[fine(999_999)])


@pytest.mark.requirement("R-LEGAL-4")
@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_any_change_changes_the_draft_hash(first: int, second: int) -> None:
    decision_id, case_id = uuid.UUID(int=1), uuid.UUID(int=2)

    def sha(amount: int) -> str:
        draft = schemas.DraftIn(
            benchmark_id=uuid.UUID(int=3), item_code="i", penalties=[schemas.PenaltyIn(kind="fine", amount_fen=amount)],
            facts="f", reasons="r", legal_basis="b",
        )  # fmt: skip
        return discretion.draft_sha256(discretion.draft_content(decision_id=decision_id, case_id=case_id, draft=draft))

    assert (sha(first) == sha(second)) is (first == second)
