"""Office HTTP for custody (R-REC-7, R-REC-8): supervisors and legal reviewers.

Thin: rules live in ``evidence.custody``. This layer may ask the field workflow
(``backend.field``) whether a case is the caller's and whether an officer is
assigned to it, and hands the answers to the evidence services, which must not import it.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, Parameter, QueryParameter
from litestar.response import Stream

from backend.core.access import Rule, agency_parts, authorize, declared
from backend.core.auth import Principal
from backend.core.errors import Forbidden, InvalidInput, NotFound
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.core.http.problems import problem
from backend.core.keys import KeyRing
from backend.field import actions, gaps, recusal, stages
from backend.field import cases as field_cases
from backend.ledger.schemas import LedgerAuditor, LedgerCheck
from evidence import holds, records
from evidence.custody import export, objects, retrieval, review, rules
from evidence.custody.ranges import RangeNotSatisfiable
from evidence.custody.retrieval import PresignedLinkUnavailable, StoredBytesChanged
from evidence.custody.schemas import ExportIn, HoldIn, TimelinePage, VerificationRunOut
from evidence.errors import StoreUnavailableError
from evidence.schemas import EvidenceOut
from evidence.store import ObjectStore

TAGS = ["custody"]
# A case or object outside the caller's agency, or a caller who does not review, is 404.
CASE_REVIEW = (*SIGNED_IN, *WITH_INPUT, NotFound)
RETRIEVAL = (*CASE_REVIEW, InvalidInput, StoredBytesChanged)  # purpose required (R-REC-7); bytes checked


class LinkIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Optional in the schema so that a missing purpose is the 422 of every retrieval.
    purpose: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    expires_s: Annotated[int, msgspec.Meta(ge=1, le=retrieval.MAX_LINK_TTL_S)] = retrieval.MAX_LINK_TTL_S


async def _reviewer_case(principal: Principal, case_id: UUID, rule: Rule, purpose: str | None = None) -> dict[str, Any]:
    """The case as context, if the caller holds a part in it that ``rule`` admits (else 404 / 403)."""
    case = await field_cases.get_case(principal=principal, case_id=case_id, rule=rule, purpose=purpose)
    return dict(msgspec.to_builtins(case))


async def _export_context(principal: Principal, case_id: UUID) -> dict[str, Any]:
    """Manifest context (R-REC-4, R-RCS): the case, its actions with participants and transitions,
    recusal declarations, stored coverage reports and case records. Check-ins with their
    certificate snapshots travel as full ledger entries in the package's ledger.jsonl."""
    context = await _reviewer_case(principal, case_id, rules.EXPORT)
    found = await actions.list_actions(principal=principal, case_id=case_id)
    context["actions"] = msgspec.to_builtins(found)
    context["coverage_reports"] = {
        str(a.id): msgspec.to_builtins(await gaps.stored_reports(principal=principal, action_id=a.id)) for a in found
    }
    context["recusal_declarations"] = msgspec.to_builtins(await recusal.list_declarations(case_id=case_id))
    context["records"] = msgspec.to_builtins(await stages.list_records(principal=principal, case_id=case_id))
    return context


def _assignment_check(principal: Principal) -> retrieval.AssignmentCheck:
    async def is_assigned(case_id: UUID) -> bool:
        return principal.user_id in await field_cases.active_officer_ids(case_id=case_id)

    return is_assigned


def _purpose(value: str | None) -> str:
    # R-REC-7: a retrieval without a stated purpose is refused (422), never logged as "".
    text = (value or "").strip()
    if len(text) < 3 or len(text) > 500:
        raise InvalidInput("state the purpose of this retrieval (3..500 characters)", field="purpose")
    return text


@get(
    "/api/v1/cases/{case_id:uuid}/timeline",
    summary="Case timeline: the custody ledger of the case (R-REC-8)",
    tags=TAGS,
    responses=problems(CASE_REVIEW, InvalidInput),
    opt=declared(rules.REVIEW),
)
async def case_timeline(
    principal: NamedDependency[Principal],
    case_id: FromPath[UUID],
    cursor: FromQuery[str | None] = None,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    purpose: Annotated[str | None, QueryParameter(max_length=500)] = None,
) -> TimelinePage:
    await _reviewer_case(principal, case_id, rules.REVIEW, purpose)
    return await review.case_timeline(viewer=principal, case_id=case_id, cursor=cursor, limit=limit)


@get(
    "/api/v1/cases/{case_id:uuid}/evidence-chain",
    summary="Evidence-chain report: hash, capture, certificate, verification and accesses per item",
    tags=TAGS,
    responses=problems(CASE_REVIEW),
    opt=declared(rules.REVIEW),
)
async def evidence_chain(
    principal: NamedDependency[Principal],
    case_id: FromPath[UUID],
    purpose: Annotated[str | None, QueryParameter(max_length=500)] = None,
) -> review.ChainReport:
    case = await _reviewer_case(principal, case_id, rules.REVIEW, purpose)
    return await review.evidence_chain_report(viewer=principal, case_id=case_id, owner_agency_id=UUID(case["agency_id"]))


@post(
    "/api/v1/custody/ledger/verify",
    summary="Recompute the whole ledger chain and checkpoints and prove it complete; report the first broken entry",
    tags=TAGS,
    status_code=200,
    responses=problems(SIGNED_IN, Forbidden),
    opt=declared(rules.VERIFY_LEDGER),
)
async def verify_ledger(principal: NamedDependency[Principal], audit_ledger: NamedDependency[LedgerAuditor]) -> LedgerCheck:
    """As ``fieldproof verify-ledger`` (R-REC-7): the chain, its checkpoints and completeness —
    every record has its entries, exports are covered by checkpoints — recorded in the ledger.
    The records without entries are counted here and listed by the CLI on the server."""
    authorize(agency_parts(principal), rules.VERIFY_LEDGER)
    audit = await audit_ledger()
    completeness = msgspec.structs.replace(audit.completeness, missing=[])
    fields = msgspec.structs.asdict(audit.ledger)
    return LedgerCheck(**{**fields, "ok": audit.ok}, completeness=completeness)


@post(
    "/api/v1/cases/{case_id:uuid}/verification-runs",
    summary="Re-hash the case's stored objects in the background (R-REC-8)",
    tags=TAGS,
    status_code=202,
    responses=problems(CASE_REVIEW),
    opt=declared(rules.VERIFY_OBJECTS),
)
async def start_verification(
    principal: NamedDependency[Principal], store: NamedDependency[ObjectStore], case_id: FromPath[UUID]
) -> Response[VerificationRunOut]:
    await _reviewer_case(principal, case_id, rules.VERIFY_OBJECTS)
    run = await objects.start_case_run(principal=principal, case_id=case_id)
    return Response(
        run,
        status_code=202,
        headers={"Location": f"/api/v1/custody/verification-runs/{run.id}"},
        background=BackgroundTask(objects.execute_run, store=store, run_id=run.id),
    )


@get(
    "/api/v1/custody/verification-runs/{run_id:uuid}",
    summary="Progress and findings of a verification run",
    tags=TAGS,
    responses=problems(CASE_REVIEW, Forbidden),
    opt=declared(rules.READ_VERIFICATION),
)
async def get_verification(principal: NamedDependency[Principal], run_id: FromPath[UUID]) -> VerificationRunOut:
    authorize(agency_parts(principal), rules.READ_VERIFICATION)
    return await objects.get_run(principal=principal, run_id=run_id)


@get(
    "/api/v1/evidence/{evidence_id:uuid}/content",
    summary="Stream an evidence object (HTTP Range; purpose required and logged first)",
    description=(
        "Supports `Range: bytes=…` (206 with Content-Range; 416 when unsatisfiable) and `If-Range`; "
        "the ETag is the quoted SHA-256. `purpose` is required (422 without it) and is written "
        "to the custody ledger before any byte is sent (R-REC-7)."
    ),
    tags=TAGS,
    responses=problems(RETRIEVAL, RangeNotSatisfiable),
    opt=declared(rules.RETRIEVE),
)
async def evidence_content(
    principal: NamedDependency[Principal],
    store: NamedDependency[ObjectStore],
    evidence_id: FromPath[UUID],
    purpose: FromQuery[str | None] = None,
    range_header: Annotated[str | None, HeaderParameter(name="Range")] = None,
    if_range: Annotated[str | None, HeaderParameter(name="If-Range")] = None,
) -> Response[Any]:
    text = _purpose(purpose)
    try:
        content = await retrieval.open_content(
            store=store,
            principal=principal,
            evidence_id=evidence_id,
            purpose=text,
            range_header=range_header,
            if_range=if_range,
            is_assigned_officer=_assignment_check(principal),
        )
    except RangeNotSatisfiable as exc:
        return problem(
            exc.status, exc.slug, exc.title, exc.detail, headers={"Content-Range": f"bytes */{exc.size}"}, size=exc.size
        )
    return Stream(content.chunks, status_code=content.status, headers=content.headers, media_type=content.evidence.media_type)


@post(
    "/api/v1/evidence/{evidence_id:uuid}/link",
    summary="A presigned download link valid at most 5 minutes (logged first)",
    tags=TAGS,
    status_code=201,
    responses=problems(RETRIEVAL, PresignedLinkUnavailable),
    opt=declared(rules.RETRIEVE),
)
async def evidence_link(
    principal: NamedDependency[Principal],
    store: NamedDependency[ObjectStore],
    evidence_id: FromPath[UUID],
    data: JSONBody[LinkIn],
) -> retrieval.LinkOut:
    return await retrieval.issue_link(
        store=store,
        principal=principal,
        evidence_id=evidence_id,
        purpose=_purpose(data.purpose),
        expires_s=data.expires_s,
        is_assigned_officer=_assignment_check(principal),
    )


@post(
    "/api/v1/cases/{case_id:uuid}/export",
    summary="Court-verifiable export package (streamed ZIP with manifest, ledger, keys, verifier)",
    tags=TAGS,
    status_code=200,
    responses=problems(RETRIEVAL),
    opt=declared(rules.EXPORT),
)
async def export_case(
    principal: NamedDependency[Principal],
    store: NamedDependency[ObjectStore],
    keys: NamedDependency[KeyRing],
    case_id: FromPath[UUID],
    data: JSONBody[ExportIn],
) -> Stream:
    context = await _export_context(principal, case_id)
    plan = await export.prepare_export(
        principal=principal,
        case_id=case_id,
        purpose=_purpose(data.purpose),
        keys=keys,
        case_context=context,
        evidence_ids=data.evidence_ids,
    )
    return Stream(
        export.stream_export(store=store, plan=plan, keys=keys),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{plan.filename}"', "X-Export-Id": str(plan.export_id)},
    )


async def _hold(principal: Principal, store: ObjectStore, case_id: UUID, *, on: bool, reason: str) -> list[EvidenceOut]:
    await _reviewer_case(principal, case_id, rules.LEGAL_HOLD)
    items = await records.list_for_case(agency_id=principal.agency_id, case_id=case_id)
    for item in items:
        await holds.set_legal_hold(
            store=store, agency_id=principal.agency_id, evidence_id=item.id, actor_id=principal.user_id, on=on, reason=reason
        )
    return items


@post(
    "/api/v1/cases/{case_id:uuid}/legal-hold",
    summary="Place a legal hold on every object of the case (R-REC-6)",
    tags=TAGS,
    status_code=200,
    responses=problems(CASE_REVIEW, StoreUnavailableError),
    opt=declared(rules.LEGAL_HOLD),
)
async def place_hold(
    principal: NamedDependency[Principal], store: NamedDependency[ObjectStore], case_id: FromPath[UUID], data: JSONBody[HoldIn]
) -> list[EvidenceOut]:
    return await _hold(principal, store, case_id, on=True, reason=data.reason)


@post(
    "/api/v1/cases/{case_id:uuid}/legal-hold/release",
    summary="Release the legal hold on every object of the case",
    tags=TAGS,
    status_code=200,
    responses=problems(CASE_REVIEW, StoreUnavailableError),
    opt=declared(rules.LEGAL_HOLD),
)
async def release_hold(
    principal: NamedDependency[Principal], store: NamedDependency[ObjectStore], case_id: FromPath[UUID], data: JSONBody[HoldIn]
) -> list[EvidenceOut]:
    return await _hold(principal, store, case_id, on=False, reason=data.reason)


ROUTES: list[Any] = [
    case_timeline,
    evidence_chain,
    verify_ledger,
    start_verification,
    get_verification,
    evidence_content,
    evidence_link,
    export_case,
    place_hold,
    release_hold,
]
