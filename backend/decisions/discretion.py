"""Pure discretion logic: benchmark checks, tier proposal, deviation, major matching, hashing.

No I/O here, so every rule is unit-tested directly (tests/unit/decisions).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import msgspec

from backend.core.errors import InvalidInput
from backend.decisions import schemas

AMOUNT_KINDS = frozenset({"fine", "confiscate_gains", "confiscate_property"})
# 责任制 Art.20 (3)–(5) name these outcomes as major without any threshold.
FIXED_MAJOR_KINDS: dict[str, str] = {
    "licence_downgrade": "licence_downgrade_revocation",
    "licence_revocation": "licence_downgrade_revocation",
    "suspend_business": "suspension_closure_restriction",
    "closure": "suspension_closure_restriction",
    "practice_restriction": "suspension_closure_restriction",
    "detention": "detention",
}
MIN_TIERS = 3
CIRCUMSTANCE_LISTS = ("factors", "no_penalty", "lighter", "mitigated", "heavier")


class BenchmarkTiersInsufficient(InvalidInput):
    slug = "benchmark-tiers-insufficient"
    title = "A ranged penalty needs at least three tiers"


class DeviationReasonRequired(InvalidInput):
    slug = "deviation-reason-required"
    title = "An outcome outside the proposed tier needs a written reason"


class PenaltyOutsideLaw(InvalidInput):
    slug = "penalty-outside-statutory-range"
    title = "The penalty is outside the statutory types or range"


# --- benchmark structure (R-DISC-2, R-DISC-3) -------------------------------------------------


def check_benchmark_structure(items: Sequence[schemas.ViolationItem]) -> None:
    """Consistency that every version must have, draft or published."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if item.code in seen:
            raise InvalidInput(f"violation item code {item.code!r} appears twice", field=f"{where}.code")
        seen.add(item.code)
        _check_item(item, where)


def _check_item(item: schemas.ViolationItem, where: str) -> None:
    codes = [c.code for name in CIRCUMSTANCE_LISTS for c in getattr(item, name)]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise InvalidInput(f"circumstance codes used twice: {', '.join(duplicates)}", field=f"{where}.factors")
    kinds: set[str] = {rule.kind for rule in item.penalty_kinds}
    if ("fine" in kinds) != (item.fine_range is not None):
        raise InvalidInput(
            "a fine needs its statutory fine_range, and a fine_range needs the kind fine", field=f"{where}.fine_range"
        )
    if item.fine_range is not None and item.fine_range.min_fen > item.fine_range.max_fen:
        raise InvalidInput("fine_range.min_fen is above max_fen", field=f"{where}.fine_range")
    factor_codes = {f.code for f in item.factors}
    for t_index, tier in enumerate(item.tiers):
        _check_tier(item, tier, kinds, factor_codes, f"{where}.tiers[{t_index}]")
    lows = [t.fine_min_fen for t in item.tiers if t.fine_min_fen is not None]
    if lows != sorted(lows):
        raise InvalidInput("tiers must be ordered from the lightest to the heaviest", field=f"{where}.tiers")


def _check_tier(item: schemas.ViolationItem, tier: schemas.Tier, kinds: set[str], factors: set[str], where: str) -> None:
    unknown = sorted(set(tier.penalty_kinds) - kinds)
    if unknown:
        raise InvalidInput(f"tier penalty kinds not allowed by the item: {', '.join(unknown)}", field=f"{where}.penalty_kinds")
    missing = sorted(set(tier.factors) - factors)
    if missing:
        raise InvalidInput(f"tier factors not listed in the item's factors: {', '.join(missing)}", field=f"{where}.factors")
    has_range = tier.fine_min_fen is not None and tier.fine_max_fen is not None
    if "fine" in tier.penalty_kinds and not has_range:
        raise InvalidInput("a tier with a fine needs fine_min_fen and fine_max_fen", field=f"{where}.fine_min_fen")
    if has_range and item.fine_range is not None:
        low, high = tier.fine_min_fen or 0, tier.fine_max_fen or 0
        if low > high or low < item.fine_range.min_fen or high > item.fine_range.max_fen:
            # R-DISC-4: a tier never leaves the statutory range.
            raise InvalidInput("the tier's fine range must lie within the statutory fine_range", field=f"{where}.fine_max_fen")


def check_publishable(items: Sequence[schemas.ViolationItem]) -> None:
    """R-DISC-2: a violation with a penalty range cannot be published with fewer than 3 tiers."""
    check_benchmark_structure(items)
    for index, item in enumerate(items):
        if item.fine_range is not None and item.fine_range.min_fen < item.fine_range.max_fen and len(item.tiers) < MIN_TIERS:
            raise BenchmarkTiersInsufficient(
                f"violation item {item.code!r} has a penalty range but {len(item.tiers)} tier(s); "
                f"at least {MIN_TIERS} are required",
                field=f"items[{index}].tiers",
            )


def find_item(items: Sequence[schemas.ViolationItem], code: str) -> schemas.ViolationItem:
    for item in items:
        if item.code == code:
            return item
    raise InvalidInput(f"the benchmark has no violation item {code!r}", field="item_code")


# --- proposal (R-DISC-3, R-DISC-4) ------------------------------------------------------------


def applied_circumstances(item: schemas.ViolationItem, selected: Iterable[str]) -> dict[str, list[str]]:
    chosen = list(dict.fromkeys(selected))
    applied: dict[str, list[str]] = {}
    known: set[str] = set()
    for name in CIRCUMSTANCE_LISTS:
        codes = {c.code for c in getattr(item, name)}
        known |= codes
        applied[name] = [c for c in chosen if c in codes]
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise InvalidInput(f"circumstances not listed in the benchmark item: {', '.join(unknown)}", field="circumstances")
    return applied


def propose(item: schemas.ViolationItem, selected: Iterable[str]) -> schemas.Proposal:
    """Propose the tier and range that the recorded circumstances call for."""
    applied = applied_circumstances(item, selected)
    if applied["no_penalty"]:
        return schemas.Proposal(
            outcome="no_penalty", tier_code="", tier_name="", fine_min_fen=None, fine_max_fen=None,
            penalty_kinds=[], applied=applied, adjustment="none",
        )  # fmt: skip
    if not item.tiers:
        low = item.fine_range.min_fen if item.fine_range else None
        high = item.fine_range.max_fen if item.fine_range else None
        kinds: list[str] = [rule.kind for rule in item.penalty_kinds]
        return schemas.Proposal(
            outcome="penalty", tier_code="", tier_name="", fine_min_fen=low, fine_max_fen=high,
            penalty_kinds=kinds, applied=applied, adjustment="none",
        )  # fmt: skip
    tier = _tier_for(item.tiers, set(applied["factors"]))
    low, high, adjustment = _adjust(item, tier, applied)
    return schemas.Proposal(
        outcome="penalty", tier_code=tier.code, tier_name=tier.name, fine_min_fen=low, fine_max_fen=high,
        penalty_kinds=list(tier.penalty_kinds), applied=applied, adjustment=adjustment,
    )  # fmt: skip


def _tier_for(tiers: Sequence[schemas.Tier], factors: set[str]) -> schemas.Tier:
    """The heaviest tier whose criteria facts are present; the lightest when none are."""
    matching = [tier for tier in tiers if factors & set(tier.factors)]
    return matching[-1] if matching else tiers[0]


def _adjust(item: schemas.ViolationItem, tier: schemas.Tier, applied: dict[str, list[str]]) -> tuple[int | None, int | None, Any]:
    low, high = tier.fine_min_fen, tier.fine_max_fen
    if low is None or high is None:
        return low, high, "none"
    if applied["mitigated"] and item.fine_range is not None:
        # 减轻: below the statutory minimum, only with a listed mitigation circumstance.
        return 0, item.fine_range.min_fen, "mitigated"
    lighter, heavier = bool(applied["lighter"]), bool(applied["heavier"])
    middle = (low + high) // 2
    if lighter and heavier:
        return low, high, "balanced"
    if lighter:
        return low, middle, "lighter"  # 从轻: lower half of the tier
    if heavier:
        return middle, high, "heavier"  # 从重: upper half of the tier
    return low, high, "none"


def check_penalties(item: schemas.ViolationItem, penalties: Sequence[schemas.PenaltyIn], proposal: schemas.Proposal) -> None:
    """Hard limits of R-DISC-4: statutory types and range; no deviation reason can lift them."""
    kinds = [p.kind for p in penalties]
    if len(set(kinds)) != len(kinds):
        raise InvalidInput("each penalty kind may appear once", field="penalties")
    allowed = {rule.kind for rule in item.penalty_kinds}
    for index, penalty in enumerate(penalties):
        field = f"penalties[{index}]"
        if penalty.kind not in allowed:
            raise PenaltyOutsideLaw(
                f"penalty kind {penalty.kind!r} is not provided for violation item {item.code!r}", field=f"{field}.kind"
            )
        if (penalty.kind in AMOUNT_KINDS) != (penalty.amount_fen is not None):
            raise InvalidInput(
                f"amount_fen is required for {sorted(AMOUNT_KINDS)} and only for them", field=f"{field}.amount_fen"
            )
        if penalty.kind == "fine" and item.fine_range is not None:
            _check_fine_in_law(
                penalty.amount_fen or 0, item.fine_range, bool(proposal.applied.get("mitigated")), f"{field}.amount_fen"
            )
    if not penalties and proposal.outcome != "no_penalty":
        raise PenaltyOutsideLaw("no penalty needs a listed no-penalty circumstance", field="penalties")


def _check_fine_in_law(amount: int, statutory: schemas.FineRange, mitigated: bool, field: str) -> None:
    if amount > statutory.max_fen:
        raise PenaltyOutsideLaw(f"a fine of {amount} fen is above the statutory maximum of {statutory.max_fen} fen", field=field)
    if amount < statutory.min_fen and not mitigated:
        raise PenaltyOutsideLaw(
            f"a fine of {amount} fen is below the statutory minimum of {statutory.min_fen} fen without a mitigation circumstance",
            field=field,
        )


def deviation(penalties: Sequence[schemas.PenaltyIn], proposal: schemas.Proposal) -> schemas.Deviation:
    """R-DISC-5: how the drafted outcome leaves the proposed tier."""
    reasons: list[str] = []
    if proposal.outcome == "no_penalty" and penalties:
        reasons.append("the circumstances call for no penalty")
    for penalty in penalties:
        if proposal.outcome == "penalty" and penalty.kind not in proposal.penalty_kinds:
            reasons.append(f"penalty kind {penalty.kind} is not in the proposed tier")
        if penalty.kind == "fine" and proposal.fine_min_fen is not None and proposal.fine_max_fen is not None:
            amount = penalty.amount_fen or 0
            if not proposal.fine_min_fen <= amount <= proposal.fine_max_fen:
                reasons.append(
                    f"fine {amount} fen is outside the proposed range {proposal.fine_min_fen}–{proposal.fine_max_fen} fen"
                )
    return schemas.Deviation(deviates=bool(reasons), reasons=reasons)


def require_reason(found: schemas.Deviation, reason: str) -> None:
    if found.deviates and not reason.strip():
        raise DeviationReasonRequired(
            "the drafted outcome leaves the proposed tier (" + "; ".join(found.reasons) + "): give a written deviation_reason",
            field="deviation_reason",
        )


# --- major-decision matching (R-LEGAL-3) ------------------------------------------------------


class CatalogPenalty(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    threshold_fen: int | None = None


class CatalogRule(msgspec.Struct, frozen=True, kw_only=True):
    """An entry of the agency's catalog: listed penalty kinds, each from its own threshold,
    narrowed to ``item_codes`` when it lists any (both listed: both must hold)."""

    id: UUID | None
    category: str
    penalties: tuple[CatalogPenalty, ...] = ()
    item_codes: tuple[str, ...] = ()


def major_matches(
    rules: Sequence[CatalogRule], *, item_code: str, penalties: Sequence[schemas.PenaltyIn]
) -> list[schemas.MajorMatch]:
    """The catalog items a draft matches; any match makes it a major decision."""
    found: list[schemas.MajorMatch] = []
    for penalty in penalties:
        category = FIXED_MAJOR_KINDS.get(penalty.kind)
        if category:
            found.append(
                schemas.MajorMatch(
                    category=category, reason=f"penalty kind {penalty.kind} (责任制 Art.20)", catalog_entry_id=None
                )
            )
    for rule in rules:
        reason = _rule_reason(rule, item_code, penalties)
        if reason:
            found.append(schemas.MajorMatch(category=rule.category, reason=reason, catalog_entry_id=rule.id))
    return found


def _rule_reason(rule: CatalogRule, item_code: str, penalties: Sequence[schemas.PenaltyIn]) -> str:
    """R-LEGAL-3 as the agency defined the entry: a listed kind at or above its own threshold."""
    if rule.item_codes and item_code not in rule.item_codes:
        return ""
    on_item = f" (violation item {item_code})" if rule.item_codes else ""
    if not rule.penalties:
        return f"violation item {item_code} is in the agency catalog"
    imposed = {p.kind: p.amount_fen or 0 for p in penalties}
    for listed in rule.penalties:
        if listed.kind not in imposed:
            continue
        if listed.threshold_fen is None:
            return f"penalty kind {listed.kind} is in the agency catalog{on_item}"
        if imposed[listed.kind] >= listed.threshold_fen:
            return f"{listed.kind} {imposed[listed.kind]} fen ≥ the agency threshold {listed.threshold_fen} fen{on_item}"
    return ""


# --- the draft's identity (R-LEGAL-4) ---------------------------------------------------------


def draft_content(*, decision_id: UUID, case_id: UUID, draft: schemas.DraftIn) -> dict[str, Any]:
    content: dict[str, Any] = msgspec.to_builtins(draft)
    content["decision_id"] = str(decision_id)
    content["case_id"] = str(case_id)
    return content


def draft_sha256(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys): any change to the draft changes it."""
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()
