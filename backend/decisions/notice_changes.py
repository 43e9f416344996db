"""What makes a draft heavier than the one the written notice told the party (R-DISC-7).

裁量 Art.18: before the decision the party is told, in writing, the facts, reasons and basis
it rests on. A draft revised after the notice needs a new notice when the outcome got
heavier, or when it rests on other facts, reasons or basis without a lighter outcome; a
lighter outcome does not (the party was told worse and could answer it). Pure, unit-tested.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.decisions import discretion, schemas

_GROUNDS = (("facts", "facts"), ("reasons", "reasons"), ("legal_basis", "legal basis"))


def _tier_rank(item: schemas.ViolationItem, circumstances: Sequence[str]) -> int:
    proposal = discretion.propose(item, circumstances)
    codes = [t.code for t in item.tiers]
    return codes.index(proposal.tier_code) if proposal.tier_code in codes else -1


def _penalty_changes(notified: schemas.DraftIn, current: schemas.DraftIn) -> list[str]:
    before = {p.kind: p for p in notified.penalties}
    changes: list[str] = []
    for penalty in current.penalties:
        old = before.get(penalty.kind)
        if old is None:
            changes.append(f"penalty {penalty.kind} was added")
        elif (penalty.amount_fen or 0) > (old.amount_fen or 0):
            changes.append(f"{penalty.kind} was raised from {old.amount_fen or 0} to {penalty.amount_fen or 0} fen")
    return changes


def _known(item: schemas.ViolationItem, codes: Sequence[str]) -> list[str]:
    # The notified draft may have used another benchmark version: judge it by today's item.
    listed = {c.code for name in discretion.CIRCUMSTANCE_LISTS for c in getattr(item, name)}
    return [c for c in codes if c in listed]


def _circumstance_changes(item: schemas.ViolationItem, notified: schemas.DraftIn, current: schemas.DraftIn) -> list[str]:
    before = discretion.applied_circumstances(item, _known(item, notified.circumstances))
    now = discretion.applied_circumstances(item, _known(item, current.circumstances))
    changes = [f"heavier circumstance {code} is now applied" for code in now["heavier"] if code not in before["heavier"]]
    for name in ("no_penalty", "mitigated", "lighter"):
        changes += [f"{name} circumstance {code} no longer applies" for code in before[name] if code not in now[name]]
    if item.tiers and _tier_rank(item, _known(item, current.circumstances)) > _tier_rank(
        item, _known(item, notified.circumstances)
    ):
        changes.append("the circumstances now place the case in a heavier tier")
    return changes


def _lighter_outcome(notified: schemas.DraftIn, current: schemas.DraftIn) -> bool:
    """Some penalty was lowered or dropped (and, checked before, none raised or added)."""
    now = {p.kind: p.amount_fen or 0 for p in current.penalties}
    return any(p.kind not in now or now[p.kind] < (p.amount_fen or 0) for p in notified.penalties)


def heavier_changes(notified: schemas.DraftIn, current: schemas.DraftIn, item: schemas.ViolationItem) -> list[str]:
    """Why the current draft needs a new notice; empty when the notice still holds.

    ``item`` is the current draft's violation item. A heavier outcome (a penalty raised or
    added, a heavier circumstance or tier, another violation item) always needs one. Other
    wording of the facts, reasons or basis needs one unless the outcome got lighter: prose
    cannot be weighed, but a lower penalty on revised facts (scenario 4: fewer units sold
    than the notice said) is what the party's answer asked for.
    """
    grounds = [
        f"the {label} changed since the notice"
        for name, label in _GROUNDS
        if getattr(notified, name).strip() != getattr(current, name).strip()
    ]
    if notified.item_code != current.item_code:
        changed_item = f"the violation item changed from {notified.item_code} to {current.item_code}"
        return [*grounds, changed_item, *_penalty_changes(notified, current)]
    heavier = _penalty_changes(notified, current) + _circumstance_changes(item, notified, current)
    if heavier:
        return grounds + heavier
    return grounds if grounds and not _lighter_outcome(notified, current) else []
