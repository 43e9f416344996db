"""An agency's standing rules for decisions: discretion benchmarks (R-DISC-1..3, 9), the
major-decision catalog (R-LEGAL-3) and answer periods (R-DISC-7). Legal reviewers
(R-LEGAL-1/2) are in ``reviewers.py``.
"""

from __future__ import annotations

import typing
import uuid
from datetime import date
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.decisions import deadlines, discretion, schemas, standards_schemas
from backend.decisions.rules import STANDARD_CHANGE, STANDARDS_CHANGE
from backend.decisions.tables import AnswerPeriodRule, Benchmark, MajorCatalogEntry

# Defaults (configurable per agency and penalty kind): 5 calendar days, the hearing-request
# period of the Administrative Penalty Law Art.64; 3 for a warning (statement and defence).
DEFAULT_ANSWER_DAYS: dict[str, int] = {"warning": 3}
DEFAULT_ANSWER_DAYS_OTHER = 5

# Output Structs are read straight from rows (backend/core/rows.py); foreign keys are
# selected under their API names.
_BENCHMARK_COLUMNS = (
    Benchmark.id,
    Benchmark.agency.as_alias("agency_id"),
    Benchmark.matter,
    Benchmark.version,
    Benchmark.title,
    Benchmark.adopting_document,
    Benchmark.effective_from,
    Benchmark.effective_until,
    Benchmark.status,
    Benchmark.items,
    Benchmark.created_at,
    Benchmark.published_at,
)
_CATALOG_COLUMNS = (
    MajorCatalogEntry.id,
    MajorCatalogEntry.agency.as_alias("agency_id"),
    MajorCatalogEntry.category,
    MajorCatalogEntry.penalties,
    MajorCatalogEntry.item_codes,
    MajorCatalogEntry.description,
    MajorCatalogEntry.legal_basis,
    MajorCatalogEntry.active,
    MajorCatalogEntry.created_at,
)


class BenchmarkNotUsable(Conflict):
    slug = "benchmark-not-usable"
    title = "The benchmark version is not published or not in effect"


class _Version(msgspec.Struct, kw_only=True):
    version: int


class _PeriodRow(msgspec.Struct, kw_only=True):
    penalty_kind: str
    days: int
    day_kind: str


def county_today() -> date:
    return clock.now().astimezone(deadlines.COUNTY_TZ).date()


# --- discretion benchmarks ------------------------------------------------------------------


async def create_benchmark(*, principal: Principal, data: standards_schemas.BenchmarkIn) -> standards_schemas.BenchmarkOut:
    """R-DISC-1: a new version (never an edit of a published one)."""
    authorize(agency_parts(principal), STANDARDS_CHANGE)
    if data.effective_until is not None and data.effective_until < data.effective_from:
        raise InvalidInput("effective_until is before effective_from", field="effective_until")
    discretion.check_benchmark_structure(data.items)
    benchmark_id = uuid.uuid4()
    async with write_transaction():
        latest = await fetch_one(
            _Version,
            Benchmark.select(Benchmark.version)
            .where((Benchmark.agency == principal.agency_id) & (Benchmark.matter == data.matter))
            .order_by(Benchmark.version, ascending=False),
        )
        await Benchmark.insert(
            Benchmark(
                id=benchmark_id,
                agency=principal.agency_id,
                matter=data.matter,
                version=(latest.version if latest else 0) + 1,
                title=data.title,
                adopting_document=data.adopting_document,
                effective_from=data.effective_from,
                effective_until=data.effective_until,
                items=msgspec.to_builtins(data.items),
                status="draft",
                created_by=principal.user_id,
                created_at=clock.now(),
            )
        )
    return await get_benchmark(agency_id=principal.agency_id, benchmark_id=benchmark_id)


async def publish_benchmark(*, principal: Principal, benchmark_id: UUID) -> standards_schemas.BenchmarkOut:
    current = await get_benchmark(agency_id=principal.agency_id, benchmark_id=benchmark_id)
    authorize(agency_parts(principal), STANDARD_CHANGE)  # after the lookup: another agency's benchmark is a 404
    if current.status != "draft":
        raise Conflict(f"benchmark version {current.version} is already {current.status}")
    # R-DISC-2: fewer than three tiers for a ranged penalty is refused here.
    discretion.check_publishable(current.items)
    await Benchmark.update(
        {Benchmark.status: "published", Benchmark.published_at: clock.now(), Benchmark.published_by: principal.user_id}
    ).where((Benchmark.id == benchmark_id) & (Benchmark.status == "draft"))
    return await get_benchmark(agency_id=principal.agency_id, benchmark_id=benchmark_id)


async def get_benchmark(*, agency_id: UUID, benchmark_id: UUID, published_only: bool = False) -> standards_schemas.BenchmarkOut:
    """Any version, old ones included (R-DISC-1); the public sees published ones (R-DISC-9)."""
    query = Benchmark.select(*_BENCHMARK_COLUMNS).where((Benchmark.id == benchmark_id) & (Benchmark.agency == agency_id))
    if published_only:
        query = query.where(Benchmark.status == "published")
    benchmark = await fetch_one(standards_schemas.BenchmarkOut, query)
    if benchmark is None:
        raise NotFound(f"benchmark {benchmark_id} not found")
    return benchmark


async def list_benchmarks(
    *, agency_id: UUID, matter: str | None = None, published_only: bool = False
) -> list[standards_schemas.BenchmarkSummary]:
    query = Benchmark.select(*_BENCHMARK_COLUMNS).where(Benchmark.agency == agency_id)
    if matter is not None:
        query = query.where(Benchmark.matter == matter)
    if published_only:
        query = query.where(Benchmark.status == "published")
    return await fetch_all(
        standards_schemas.BenchmarkSummary, query.order_by(Benchmark.matter).order_by(Benchmark.version, ascending=False)
    )


async def usable_benchmark(*, agency_id: UUID, benchmark_id: UUID) -> standards_schemas.BenchmarkOut:
    """A draft may only use a published version in effect today (R-DISC-1 effective dates)."""
    benchmark = await get_benchmark(agency_id=agency_id, benchmark_id=benchmark_id)
    today = county_today()
    if benchmark.status != "published":
        raise BenchmarkNotUsable(f"benchmark version {benchmark.version} is not published", field="benchmark_id")
    if benchmark.effective_from > today or (benchmark.effective_until is not None and benchmark.effective_until < today):
        raise BenchmarkNotUsable(f"benchmark version {benchmark.version} is not in effect on {today}", field="benchmark_id")
    return benchmark


# --- major-decision catalog (R-LEGAL-3) -----------------------------------------------------


# The amount kinds an entry of these categories is about (责任制 Art.20 (1), (2)).
_CATEGORY_KINDS = {"large_fine": {"fine"}, "large_confiscation": {"confiscate_gains", "confiscate_property"}}


def _check_catalog_entry(data: standards_schemas.CatalogEntryIn) -> None:
    """R-LEGAL-3: each penalty kind carries its own threshold, so no entry catches what the
    agency did not list (an OR of 'fine' and a threshold made every fine major)."""
    if not (data.penalties or data.item_codes):
        raise InvalidInput("an entry needs penalties or item_codes", field="penalties")
    kinds = [p.kind for p in data.penalties]
    if len(set(kinds)) != len(kinds):
        raise InvalidInput("each penalty kind may appear once in an entry", field="penalties")
    own = _CATEGORY_KINDS.get(data.category)
    if own is not None and not (kinds and set(kinds) <= own):
        raise InvalidInput(f"a {data.category} entry lists only {', '.join(sorted(own))}, with thresholds", field="penalties")
    for index, penalty in enumerate(data.penalties):
        field = f"penalties[{index}].threshold_fen"
        if penalty.kind in discretion.AMOUNT_KINDS and penalty.threshold_fen is None:
            # "较大" is the agency's figure: the text sets none, so it must be stated (0: any amount).
            raise InvalidInput(f"{penalty.kind} needs the agency's threshold_fen (0 for any amount)", field=field)
        if penalty.kind not in discretion.AMOUNT_KINDS and penalty.threshold_fen is not None:
            raise InvalidInput(f"{penalty.kind} has no amount, so no threshold", field=field)


async def add_catalog_entry(*, principal: Principal, data: standards_schemas.CatalogEntryIn) -> standards_schemas.CatalogEntryOut:
    authorize(agency_parts(principal), STANDARDS_CHANGE)
    _check_catalog_entry(data)
    entry_id = uuid.uuid4()
    await MajorCatalogEntry.insert(
        MajorCatalogEntry(
            id=entry_id,
            agency=principal.agency_id,
            category=data.category,
            penalties=msgspec.to_builtins(data.penalties),
            item_codes=list(data.item_codes),
            description=data.description,
            legal_basis=data.legal_basis,
            created_by=principal.user_id,
            created_at=clock.now(),
        )
    )
    entry = await fetch_one(
        standards_schemas.CatalogEntryOut, MajorCatalogEntry.select(*_CATALOG_COLUMNS).where(MajorCatalogEntry.id == entry_id)
    )
    assert entry is not None
    return entry


async def retire_catalog_entry(*, principal: Principal, entry_id: UUID) -> standards_schemas.CatalogEntryOut:
    """Entries are retired, not deleted: past decisions still cite the entry they matched."""
    scope = (MajorCatalogEntry.id == entry_id) & (MajorCatalogEntry.agency == principal.agency_id)
    entry = await fetch_one(standards_schemas.CatalogEntryOut, MajorCatalogEntry.select(*_CATALOG_COLUMNS).where(scope))
    if entry is None:
        raise NotFound(f"catalog entry {entry_id} not found")
    authorize(agency_parts(principal), STANDARD_CHANGE)  # after the lookup: another agency's entry is a 404
    await MajorCatalogEntry.update({MajorCatalogEntry.active: False, MajorCatalogEntry.retired_at: clock.now()}).where(scope)
    return msgspec.structs.replace(entry, active=False)


async def list_catalog(*, agency_id: UUID, active_only: bool = True) -> list[standards_schemas.CatalogEntryOut]:
    query = MajorCatalogEntry.select(*_CATALOG_COLUMNS).where(MajorCatalogEntry.agency == agency_id)
    if active_only:
        query = query.where(MajorCatalogEntry.active == True)  # noqa: E712 - Piccolo column expression
    return await fetch_all(standards_schemas.CatalogEntryOut, query.order_by(MajorCatalogEntry.created_at))


async def catalog_rules(*, agency_id: UUID) -> list[discretion.CatalogRule]:
    return [
        discretion.CatalogRule(
            id=entry.id,
            category=entry.category,
            penalties=tuple(discretion.CatalogPenalty(kind=p.kind, threshold_fen=p.threshold_fen) for p in entry.penalties),
            item_codes=tuple(entry.item_codes),
        )
        for entry in await list_catalog(agency_id=agency_id)
    ]


# --- answer periods (R-DISC-7) --------------------------------------------------------------


async def set_answer_period(*, principal: Principal, data: standards_schemas.AnswerPeriodIn) -> standards_schemas.AnswerPeriodOut:
    authorize(agency_parts(principal), STANDARDS_CHANGE)
    scope = (AnswerPeriodRule.agency == principal.agency_id) & (AnswerPeriodRule.penalty_kind == data.penalty_kind)
    async with write_transaction():
        await AnswerPeriodRule.delete().where(scope)
        await AnswerPeriodRule.insert(
            AnswerPeriodRule(
                id=uuid.uuid4(),
                agency=principal.agency_id,
                penalty_kind=data.penalty_kind,
                days=data.days,
                day_kind=data.day_kind,
                updated_at=clock.now(),
            )
        )
    return standards_schemas.AnswerPeriodOut(
        penalty_kind=data.penalty_kind, days=data.days, day_kind=data.day_kind, configured=True
    )


async def answer_periods(*, agency_id: UUID) -> list[standards_schemas.AnswerPeriodOut]:
    rows = await fetch_all(_PeriodRow, AnswerPeriodRule.select().where(AnswerPeriodRule.agency == agency_id))
    configured = {r.penalty_kind: r for r in rows}
    kinds: tuple[str, ...] = typing.get_args(schemas.PenaltyKind)
    out = []
    for kind in kinds:
        row = configured.get(kind)
        if row is not None:
            out.append(
                standards_schemas.AnswerPeriodOut(penalty_kind=kind, days=row.days, day_kind=row.day_kind, configured=True)
            )
        else:
            days = DEFAULT_ANSWER_DAYS.get(kind, DEFAULT_ANSWER_DAYS_OTHER)
            out.append(standards_schemas.AnswerPeriodOut(penalty_kind=kind, days=days, day_kind="calendar", configured=False))
    return out
