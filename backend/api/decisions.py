"""HTTP of the decisions area: office (/api/v1) and public benchmarks and results (/public/v1).

Thin controllers: every rule lives in a service module of ``backend.decisions``.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.core.access import agency_parts, authorize, declared
from backend.core.auth import Principal
from backend.core.errors import Conflict, DuplicateValue, Forbidden, InvalidInput, NotFound
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.decisions import (
    declarations,
    discussions,
    drafts,
    hearings,
    issuing,
    notices,
    publication,
    review,
    reviewers,
    rules,
    schemas,
    standards,
    standards_schemas,
)
from backend.decisions.case_facts import RecusalMissing
from backend.decisions.conditions import DecisionIssueBlocked, DecisionReviewBlocked
from backend.decisions.discretion import BenchmarkTiersInsufficient, DeviationReasonRequired, PenaltyOutsideLaw
from backend.decisions.notices import NoticeNotServed
from backend.decisions.records import CaseStageConflict, DecisionAlreadyIssued, DraftChanged
from backend.decisions.reviewers import LegalQualificationMissing, NotALegalReviewer
from backend.decisions.standards import BenchmarkNotUsable
from backend.field.cases import CaseArchived, SeparationOfFunctions
from backend.field.stages import StageRecordMissing
from backend.org import service as org_service

# Problems per kind of route, from what the services each route calls raise.
STANDARDS_CHANGE = (*SIGNED_IN, *WITH_INPUT, Forbidden)
DECISION_READ = (*SIGNED_IN, *WITH_INPUT, NotFound)
DECISION_CHANGE = (*DECISION_READ, Forbidden, InvalidInput, DecisionAlreadyIssued)
DRAFT_RULES = (InvalidInput, CaseStageConflict, BenchmarkNotUsable, DeviationReasonRequired, PenaltyOutsideLaw)
PUBLIC_READ = (*WITH_INPUT, NotFound)
Matter = Annotated[str | None, QueryParameter(min_length=1, max_length=64)]


class StandardsController(Controller):
    """The agency's benchmarks, major-decision catalog, answer periods and reviewers."""

    path = "/api/v1"
    tags = ["decisions: standards"]

    @post(
        "/benchmarks",
        summary="Create a new benchmark version (draft, R-DISC-1)",
        status_code=201,
        responses=problems(STANDARDS_CHANGE, NotFound, InvalidInput),
        opt=declared(rules.STANDARDS_CHANGE),
    )
    async def create_benchmark(
        self, principal: NamedDependency[Principal], data: JSONBody[standards_schemas.BenchmarkIn]
    ) -> standards_schemas.BenchmarkOut:
        return await standards.create_benchmark(principal=principal, data=data)

    @get(
        "/benchmarks",
        summary="Benchmark versions of the caller's agency",
        responses=problems(SIGNED_IN, WITH_INPUT),
        opt=declared(rules.STANDARDS_READ),
    )
    async def list_benchmarks(
        self, principal: NamedDependency[Principal], matter: Matter = None
    ) -> list[standards_schemas.BenchmarkSummary]:
        return await standards.list_benchmarks(agency_id=principal.agency_id, matter=matter)

    @get(
        "/benchmarks/{benchmark_id:uuid}",
        summary="One benchmark version, old ones included",
        responses=problems(DECISION_READ),
        opt=declared(rules.STANDARD_READ),
    )
    async def get_benchmark(
        self, principal: NamedDependency[Principal], benchmark_id: FromPath[UUID]
    ) -> standards_schemas.BenchmarkOut:
        return await standards.get_benchmark(agency_id=principal.agency_id, benchmark_id=benchmark_id)

    @post(
        "/benchmarks/{benchmark_id:uuid}/publish",
        summary="Publish a version (refused with < 3 tiers for a ranged penalty, R-DISC-2)",
        status_code=200,
        responses=problems(STANDARDS_CHANGE, NotFound, InvalidInput, BenchmarkTiersInsufficient, Conflict),
        opt=declared(rules.STANDARD_CHANGE),
    )
    async def publish_benchmark(
        self, principal: NamedDependency[Principal], benchmark_id: FromPath[UUID]
    ) -> standards_schemas.BenchmarkOut:
        return await standards.publish_benchmark(principal=principal, benchmark_id=benchmark_id)

    @get(
        "/major-catalog",
        summary="The agency's major-decision catalog (R-LEGAL-3)",
        responses=problems(SIGNED_IN),
        opt=declared(rules.STANDARDS_READ),
    )
    async def list_catalog(self, principal: NamedDependency[Principal]) -> list[standards_schemas.CatalogEntryOut]:
        return await standards.list_catalog(agency_id=principal.agency_id)

    @post(
        "/major-catalog",
        summary="Add a catalog entry with the agency's threshold",
        status_code=201,
        responses=problems(STANDARDS_CHANGE, InvalidInput),
        opt=declared(rules.STANDARDS_CHANGE),
    )
    async def add_catalog_entry(
        self, principal: NamedDependency[Principal], data: JSONBody[standards_schemas.CatalogEntryIn]
    ) -> standards_schemas.CatalogEntryOut:
        return await standards.add_catalog_entry(principal=principal, data=data)

    @post(
        "/major-catalog/{entry_id:uuid}/retire",
        summary="Retire a catalog entry",
        status_code=200,
        responses=problems(STANDARDS_CHANGE, NotFound),
        opt=declared(rules.STANDARD_CHANGE),
    )
    async def retire_catalog_entry(
        self, principal: NamedDependency[Principal], entry_id: FromPath[UUID]
    ) -> standards_schemas.CatalogEntryOut:
        return await standards.retire_catalog_entry(principal=principal, entry_id=entry_id)

    @get(
        "/answer-periods",
        summary="Answer period after notice, per penalty kind (R-DISC-7)",
        responses=problems(SIGNED_IN),
        opt=declared(rules.STANDARDS_READ),
    )
    async def answer_periods(self, principal: NamedDependency[Principal]) -> list[standards_schemas.AnswerPeriodOut]:
        return await standards.answer_periods(agency_id=principal.agency_id)

    @put(
        "/answer-periods",
        summary="Configure the answer period of a penalty kind",
        responses=problems(STANDARDS_CHANGE),
        opt=declared(rules.STANDARDS_CHANGE),
    )
    async def set_answer_period(
        self, principal: NamedDependency[Principal], data: JSONBody[standards_schemas.AnswerPeriodIn]
    ) -> standards_schemas.AnswerPeriodOut:
        return await standards.set_answer_period(principal=principal, data=data)

    @get(
        "/legal-reviewers",
        summary="Designated members of the legal-review unit (R-LEGAL-1)",
        responses=problems(SIGNED_IN),
        opt=declared(rules.STANDARDS_READ),
    )
    async def list_reviewers(self, principal: NamedDependency[Principal]) -> list[standards_schemas.ReviewerOut]:
        return await reviewers.list_reviewers(agency_id=principal.agency_id)

    @post(
        "/legal-reviewers",
        summary="Designate a legal reviewer (R-LEGAL-2)",
        status_code=201,
        responses=problems(STANDARDS_CHANGE, NotFound, InvalidInput, LegalQualificationMissing, Conflict),
        opt=declared(rules.STANDARDS_CHANGE),
    )
    async def designate_reviewer(
        self, principal: NamedDependency[Principal], data: JSONBody[standards_schemas.ReviewerDesignationIn]
    ) -> standards_schemas.ReviewerOut:
        return await reviewers.designate_reviewer(principal=principal, data=data)

    @delete(
        "/legal-reviewers/{user_id:uuid}",
        summary="End a reviewer's designation",
        status_code=204,
        responses=problems(STANDARDS_CHANGE, NotFound),
        opt=declared(rules.REVIEWERS_CHANGE),
    )
    async def revoke_reviewer(self, principal: NamedDependency[Principal], user_id: FromPath[UUID]) -> None:
        await reviewers.revoke_reviewer(principal=principal, user_id=user_id)

    @get(
        "/legal-reviewers/ratio",
        summary="Reviewers vs. 5 % of officers (warning, R-LEGAL-1)",
        responses=problems(SIGNED_IN, Forbidden),
        opt=declared(rules.REVIEWER_RATIO),
    )
    async def reviewer_ratio(self, principal: NamedDependency[Principal]) -> standards_schemas.ReviewerRatio:
        authorize(agency_parts(principal), rules.REVIEWER_RATIO)
        return await reviewers.reviewer_ratio(agency_id=principal.agency_id)


class DecisionController(Controller):
    """Drafting, written notice, legal review and issuing of a case's decision."""

    path = "/api/v1"
    tags = ["decisions"]

    @post(
        "/cases/{case_id:uuid}/decisions",
        summary="Draft the case's decision",
        status_code=201,
        responses=problems(DECISION_READ, Forbidden, Conflict, DRAFT_RULES),
        opt=declared(rules.DRAFT),
    )
    async def create_draft(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], data: JSONBody[schemas.DraftIn]
    ) -> schemas.DraftView:
        return await drafts.create_draft(principal=principal, case_id=case_id, data=data)

    @get(
        "/cases/{case_id:uuid}/decisions",
        summary="Decisions of a case",
        responses=problems(DECISION_READ),
        opt=declared(rules.READ),
    )
    async def list_case_decisions(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID]
    ) -> list[schemas.DecisionOut]:
        return await drafts.list_case_decisions(principal=principal, case_id=case_id)

    @get(
        "/decisions/{decision_id:uuid}",
        summary="A decision with comparable past decisions",
        responses=problems(DECISION_READ),
        opt=declared(rules.READ),
    )
    async def get_decision(self, principal: NamedDependency[Principal], decision_id: FromPath[UUID]) -> schemas.DraftView:
        return await drafts.get_decision(principal=principal, decision_id=decision_id)

    @put(
        "/decisions/{decision_id:uuid}/draft",
        summary="Revise the draft (a new version; voids earlier reviews)",
        responses=problems(DECISION_CHANGE, DraftChanged, DRAFT_RULES),
        opt=declared(rules.DRAFT),
    )
    async def revise_draft(
        self, principal: NamedDependency[Principal], decision_id: FromPath[UUID], data: JSONBody[schemas.DraftIn]
    ) -> schemas.DraftView:
        return await drafts.revise_draft(principal=principal, decision_id=decision_id, data=data)

    @post(
        "/decisions/{decision_id:uuid}/notice",
        summary="Generate the written notice (R-DISC-7)",
        status_code=201,
        responses=problems(DECISION_CHANGE),
        opt=declared(rules.DRAFT),
    )
    async def generate_notice(
        self, principal: NamedDependency[Principal], decision_id: FromPath[UUID], data: JSONBody[schemas.NoticeIn]
    ) -> schemas.NoticeOut:
        return await notices.generate_notice(principal=principal, decision_id=decision_id, data=data)

    @get(
        "/decisions/{decision_id:uuid}/notice",
        summary="The current written notice",
        responses=problems(DECISION_READ),
        opt=declared(rules.READ),
    )
    async def get_notice(self, principal: NamedDependency[Principal], decision_id: FromPath[UUID]) -> schemas.NoticeOut:
        return await notices.get_notice(principal=principal, decision_id=decision_id)

    @post(
        "/decisions/{decision_id:uuid}/notice/service",
        summary="Record the notice's service",
        status_code=200,
        responses=problems(DECISION_CHANGE, Conflict, NoticeNotServed),
        opt=declared(rules.DRAFT),
    )
    async def record_notice_service(
        self, principal: NamedDependency[Principal], decision_id: FromPath[UUID], data: JSONBody[schemas.NoticeServiceIn]
    ) -> schemas.NoticeOut:
        return await notices.record_notice_service(principal=principal, decision_id=decision_id, data=data)

    @post(
        "/decisions/{decision_id:uuid}/notice/waiver",
        summary="Record a written waiver of the answer period",
        status_code=200,
        responses=problems(DECISION_CHANGE, Conflict, NoticeNotServed),
        opt=declared(rules.DRAFT),
    )
    async def waive_answer_period(
        self, principal: NamedDependency[Principal], decision_id: FromPath[UUID], data: JSONBody[schemas.NoticeWaiverIn]
    ) -> schemas.NoticeOut:
        return await notices.waive_answer_period(principal=principal, decision_id=decision_id, data=data)

    @post(
        "/decisions/{decision_id:uuid}/reviews",
        summary="Record a legal review of the exact draft (R-LEGAL-4); 409 lists every missing condition",
        status_code=201,
        responses=problems(DECISION_CHANGE, DraftChanged, NotALegalReviewer, LegalQualificationMissing, DecisionReviewBlocked),
        opt=declared(rules.REVIEW),
    )
    async def review(
        self, principal: NamedDependency[Principal], decision_id: FromPath[UUID], data: JSONBody[schemas.ReviewIn]
    ) -> schemas.ReviewOut:
        return await review.review_decision(principal=principal, decision_id=decision_id, data=data)

    @get(
        "/decisions/{decision_id:uuid}/reviews",
        summary="All legal reviews of a decision (immutable)",
        responses=problems(DECISION_READ),
        opt=declared(rules.READ),
    )
    async def list_reviews(self, principal: NamedDependency[Principal], decision_id: FromPath[UUID]) -> list[schemas.ReviewOut]:
        return await review.list_reviews(principal=principal, decision_id=decision_id)

    @get(
        "/decisions/{decision_id:uuid}/review-bundle",
        summary="What the legal reviewer sees (R-LEGAL-5)",
        responses=problems(DECISION_READ, Forbidden),
        opt=declared(rules.REVIEW_BUNDLE),
    )
    async def review_bundle(self, principal: NamedDependency[Principal], decision_id: FromPath[UUID]) -> schemas.ReviewBundle:
        return await review.review_bundle(principal=principal, decision_id=decision_id)

    @post(
        "/decisions/{decision_id:uuid}/issue",
        summary="Issue the decision (approver, R-LEGAL-6); 409 lists every missing condition",
        status_code=200,
        responses=problems(
            DECISION_CHANGE,
            DraftChanged,
            DuplicateValue,
            DecisionIssueBlocked,
            CaseArchived,
            StageRecordMissing,
        ),
        opt=declared(rules.ISSUE),
    )
    async def issue(
        self, principal: NamedDependency[Principal], decision_id: FromPath[UUID], data: JSONBody[schemas.IssueIn]
    ) -> schemas.DraftView:
        return await issuing.issue_decision(principal=principal, decision_id=decision_id, data=data)

    @post(
        "/cases/{case_id:uuid}/decision-declarations",
        summary="Declare on the recusal grounds as handler, reviewer, approver or discussion member (R-RCS-3)",
        status_code=201,
        responses=problems(DECISION_READ, InvalidInput, Conflict),
        opt=declared(rules.DECLARE),
    )
    async def declare_recusal(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], data: JSONBody[schemas.DeclarationIn]
    ) -> schemas.DeclarationOut:
        return await declarations.declare_recusal(principal=principal, case_id=case_id, data=data)

    @get(
        "/cases/{case_id:uuid}/decision-declarations",
        summary="Declarations for decision roles on a case",
        responses=problems(DECISION_READ),
        opt=declared(rules.READ),
    )
    async def list_declarations(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID]
    ) -> list[schemas.DeclarationOut]:
        return await declarations.list_declarations(principal=principal, case_id=case_id)

    @post(
        "/decisions/{decision_id:uuid}/hearing",
        summary="Record the hearing the party asked for (host checked for separation, R-DISC-8)",
        status_code=201,
        responses=problems(DECISION_CHANGE, Conflict, RecusalMissing, SeparationOfFunctions),
        opt=declared(rules.DRAFT),
    )
    async def record_hearing(
        self, principal: NamedDependency[Principal], decision_id: FromPath[UUID], data: JSONBody[schemas.HearingIn]
    ) -> schemas.HearingOut:
        return await hearings.record_hearing(principal=principal, decision_id=decision_id, data=data)

    @post(
        "/decisions/{decision_id:uuid}/discussions",
        summary="Record a collective discussion (every participant declared, R-RCS-2)",
        status_code=201,
        responses=problems(DECISION_CHANGE, RecusalMissing),
        opt=declared(rules.DISCUSS),
    )
    async def record_discussion(
        self, principal: NamedDependency[Principal], decision_id: FromPath[UUID], data: JSONBody[schemas.DiscussionIn]
    ) -> schemas.DiscussionOut:
        return await discussions.record_discussion(principal=principal, decision_id=decision_id, data=data)


class PublicDecisionController(Controller):
    """R-DISC-9: benchmarks are public; issued results are open unless restricted."""

    path = "/public/v1/agencies/{agency_id:uuid}"
    tags = ["public"]

    @get(
        "/benchmarks",
        summary="Published benchmark versions of an agency",
        responses=problems(PUBLIC_READ),
        opt=declared(rules.PUBLIC),
    )
    async def list_benchmarks(self, agency_id: FromPath[UUID], matter: Matter = None) -> list[standards_schemas.BenchmarkSummary]:
        await org_service.get_agency(agency_id=agency_id)
        return await standards.list_benchmarks(agency_id=agency_id, matter=matter, published_only=True)

    @get(
        "/benchmarks/{benchmark_id:uuid}",
        summary="One published benchmark version",
        responses=problems(PUBLIC_READ),
        opt=declared(rules.PUBLIC),
    )
    async def get_benchmark(self, agency_id: FromPath[UUID], benchmark_id: FromPath[UUID]) -> standards_schemas.BenchmarkOut:
        return await standards.get_benchmark(agency_id=agency_id, benchmark_id=benchmark_id, published_only=True)

    @get(
        "/decisions",
        summary="Issued decisions open to public inspection",
        responses=problems(PUBLIC_READ),
        opt=declared(rules.PUBLIC),
    )
    async def list_decisions(
        self, agency_id: FromPath[UUID], limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50
    ) -> list[schemas.PublicDecision]:
        await org_service.get_agency(agency_id=agency_id)
        return await publication.public_decisions(agency_id=agency_id, limit=limit)


ROUTES: list[Any] = [StandardsController, DecisionController, PublicDecisionController]
