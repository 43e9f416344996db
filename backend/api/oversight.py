"""Office and public HTTP for oversight: complaints (R-CMP) and the statutory calendar.

Public (no login, ``/public/v1``): the published complaint channels, submitting a complaint
(rate-limited per address, bounded in size by the request types) and following it by
tracking number and verification code. Office (``/api/v1``): publishing the channels,
accepting, investigating, replying, changing a due date, linking an officer's fault, the
overdue and due-soon lists, and the Justice Bureau's loading of a year's holiday notice.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Response

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from backend.core.http.authentication import client_address
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.org.calendar import YearNotice
from backend.oversight import calendar, channels, complaint_deadlines, complaints, jurisdiction, rules, schemas
from backend.oversight.errors import (
    ComplaintsNotOpen,
    ComplaintState,
    CountyGovernmentOnly,
    DisputeState,
    DueChangeNeedsHead,
    JusticeBureauOnly,
)
from backend.oversight.rules import NotComplaintHandler
from certificates import ratelimit

# Per client address: a person complains a few times, a script many (R-CMP; the input
# types bound each complaint's size).
SUBMISSIONS_PER_HOUR = 10
STATUS_CHECKS_PER_MINUTE = 20

OFFICE = (*SIGNED_IN, *WITH_INPUT, InvalidInput)
DisputeWhich = Annotated[
    Literal["all", "open", "overdue"], QueryParameter(description="all, open, or open past the 7 working days")
]
Which = Annotated[Literal["all", "overdue", "due_soon"], QueryParameter(description="all, overdue, or due within 5 working days")]


class PublicComplaintController(Controller):
    path = "/public/v1"
    tags = ["public", "complaints"]

    @get(
        "/complaint-channels",
        summary="Published complaint channels of every agency (R-CMP-1)",
        responses=problems(WITH_INPUT),
        opt=declared(rules.COMPLAINT_PUBLIC),
    )
    async def channels(self) -> Response[list[schemas.ChannelOut]]:
        return Response(await channels.published_channels(), headers={"Cache-Control": "public, max-age=300"})

    @post(
        "/complaints",
        summary="Submit a complaint without login: answers a tracking number and a verification code, once",
        status_code=201,
        responses=problems(WITH_INPUT, NotFound, ComplaintsNotOpen, TooManyRequests),
        opt=declared(rules.COMPLAINT_PUBLIC),
    )
    async def submit(
        self, request: Request[Any, Any, Any], data: JSONBody[schemas.ComplaintIn]
    ) -> Response[schemas.ComplaintReceipt]:
        if not await ratelimit.allow(scope="complaint", key=client_address(request), limit=SUBMISSIONS_PER_HOUR, window_s=3600):
            raise TooManyRequests("too many complaints from this address; try again in an hour", retry_after=3600)
        receipt = await complaints.submit(data=data)
        return Response(receipt, status_code=201, headers={"Cache-Control": "no-store"})

    @post(
        "/complaints/status",
        summary="A complaint's progress and reply, by tracking number and verification code",
        status_code=200,
        responses=problems(WITH_INPUT, NotFound, TooManyRequests),
        opt=declared(rules.COMPLAINT_PUBLIC),
    )
    async def status(
        self, request: Request[Any, Any, Any], data: JSONBody[schemas.StatusQuery]
    ) -> Response[schemas.ComplaintStatus]:
        # Limited so verification codes cannot be guessed by trying.
        if not await ratelimit.allow(scope="complaint-status", key=client_address(request), limit=STATUS_CHECKS_PER_MINUTE):
            raise TooManyRequests("too many status checks from this address; try again in a minute", retry_after=60)
        return Response(await complaints.status(query=data), headers={"Cache-Control": "no-store"})


class ComplaintController(Controller):
    path = "/api/v1"
    tags = ["complaints"]

    @get(
        "/complaint-channel",
        summary="The agency's published complaint channels",
        responses=problems(OFFICE, ComplaintsNotOpen),
        opt=declared(rules.CHANNEL_READ),
    )
    async def own_channel(self, principal: NamedDependency[Principal]) -> schemas.ChannelOut:
        return await channels.own_channel(principal=principal)

    @put(
        "/complaint-channel",
        summary="Designate the complaint unit and publish phone, e-mail and postal address (R-CMP-1)",
        responses=problems(OFFICE),
        opt=declared(rules.CHANNEL_PUBLISH),
    )
    async def publish_channel(
        self, principal: NamedDependency[Principal], data: JSONBody[schemas.ChannelIn]
    ) -> schemas.ChannelOut:
        return await channels.publish_channel(principal=principal, data=data)

    @get(
        "/complaints",
        summary="The agency's complaints: all, overdue or due within 5 working days (R-CMP-4)",
        responses=problems(OFFICE),
        opt=declared(rules.COMPLAINT_QUEUE),
    )
    async def list_complaints(
        self, principal: NamedDependency[Principal], which: Which = "all"
    ) -> list[schemas.ComplaintSummary]:
        return await complaint_deadlines.queue(principal=principal, which=which)

    @get(
        "/complaints/{complaint_id:uuid}",
        summary="One complaint with its steps",
        responses=problems(OFFICE, NotFound),
        opt=declared(rules.COMPLAINT_READ),
    )
    async def get_complaint(self, principal: NamedDependency[Principal], complaint_id: FromPath[UUID]) -> schemas.ComplaintOut:
        return await complaints.get(principal=principal, complaint_id=complaint_id)

    @post(
        "/complaints/{complaint_id:uuid}/accept",
        summary="Accept a complaint and name its handler: 30 working days to reply (R-CMP-2)",
        status_code=200,
        responses=problems(OFFICE, NotFound, ComplaintState),
        opt=declared(rules.COMPLAINT_ACCEPT),
    )
    async def accept(
        self, principal: NamedDependency[Principal], complaint_id: FromPath[UUID], data: JSONBody[schemas.AcceptIn]
    ) -> schemas.ComplaintOut:
        return await complaints.accept(principal=principal, complaint_id=complaint_id, data=data)

    @post(
        "/complaints/{complaint_id:uuid}/findings",
        summary="The handler records the investigation's findings",
        status_code=200,
        responses=problems(OFFICE, NotFound, ComplaintState, NotComplaintHandler),
        opt=declared(rules.COMPLAINT_HANDLE),
    )
    async def findings(
        self, principal: NamedDependency[Principal], complaint_id: FromPath[UUID], data: JSONBody[schemas.FindingsIn]
    ) -> schemas.ComplaintOut:
        return await complaints.record_findings(principal=principal, complaint_id=complaint_id, data=data)

    @post(
        "/complaints/{complaint_id:uuid}/reply",
        summary="The handler records the reply: content, date and channel (R-CMP-2)",
        status_code=200,
        responses=problems(OFFICE, NotFound, ComplaintState, NotComplaintHandler),
        opt=declared(rules.COMPLAINT_HANDLE),
    )
    async def reply(
        self, principal: NamedDependency[Principal], complaint_id: FromPath[UUID], data: JSONBody[schemas.ReplyIn]
    ) -> schemas.ComplaintOut:
        return await complaints.reply(principal=principal, complaint_id=complaint_id, data=data)

    @post(
        "/complaints/{complaint_id:uuid}/due-date",
        summary="Change the due date: the head's approval with reason, or a cited statutory limit (R-CMP-3)",
        status_code=200,
        responses=problems(OFFICE, NotFound, ComplaintState, DueChangeNeedsHead),
        opt=declared(rules.COMPLAINT_DUE_CHANGE),
    )
    async def change_due(
        self, principal: NamedDependency[Principal], complaint_id: FromPath[UUID], data: JSONBody[schemas.DueChangeIn]
    ) -> schemas.ComplaintOut:
        return await complaint_deadlines.change_due(principal=principal, complaint_id=complaint_id, data=data)

    @post(
        "/complaints/{complaint_id:uuid}/fault-link",
        summary="Link the officer whose fault the complaint alleges (R-CMP-4)",
        status_code=200,
        responses=problems(OFFICE, NotFound, ComplaintState),
        opt=declared(rules.COMPLAINT_FAULT_LINK),
    )
    async def link_fault(
        self, principal: NamedDependency[Principal], complaint_id: FromPath[UUID], data: JSONBody[schemas.FaultLinkIn]
    ) -> schemas.ComplaintOut:
        return await complaints.link_fault(principal=principal, complaint_id=complaint_id, data=data)


class CalendarController(Controller):
    path = "/api/v1/calendar"
    tags = ["calendar"]

    @get(
        "/years",
        summary="Years whose working days are known: the package's and the loaded ones",
        responses=problems(OFFICE),
        opt=declared(rules.CALENDAR_READ),
    )
    async def years(self, principal: NamedDependency[Principal]) -> list[schemas.CalendarYearOut]:
        return await calendar.years(principal=principal)

    @post(
        "/years",
        summary="Load a year's State Council holiday notice; provisional deadlines are recomputed",
        status_code=200,
        responses=problems(OFFICE, JusticeBureauOnly, Conflict, InvalidInput),
        opt=declared(rules.CALENDAR_LOAD),
    )
    async def load_year(self, principal: NamedDependency[Principal], data: JSONBody[YearNotice]) -> schemas.CalendarLoadOut:
        return await calendar.load_year(principal=principal, notice=data)


class DisputeController(Controller):
    path = "/api/v1/jurisdiction-disputes"
    tags = ["jurisdiction disputes"]

    @post(
        "/",
        summary="Open a jurisdiction dispute with another agency (R-AGY-4)",
        status_code=201,
        responses=problems(OFFICE),
        opt=declared(rules.DISPUTE_OPEN),
    )
    async def open_dispute(self, principal: NamedDependency[Principal], data: JSONBody[schemas.DisputeIn]) -> schemas.DisputeOut:
        return await jurisdiction.open_dispute(principal=principal, data=data)

    @get(
        "/",
        summary="Disputes of the agency (all of them for the county government); open, or overdue for agreement",
        responses=problems(OFFICE),
        opt=declared(rules.DISPUTE_READ),
    )
    async def list_disputes(
        self,
        principal: NamedDependency[Principal],
        which: DisputeWhich = "all",
        case_id: Annotated[UUID | None, QueryParameter(description="only the disputes linked to this case")] = None,
    ) -> list[schemas.DisputeOut]:
        return await jurisdiction.disputes(principal=principal, which=which, case_id=case_id)

    @get(
        "/{dispute_id:uuid}",
        summary="One jurisdiction dispute",
        responses=problems(OFFICE, NotFound),
        opt=declared(rules.DISPUTE_READ),
    )
    async def get_dispute(self, principal: NamedDependency[Principal], dispute_id: FromPath[UUID]) -> schemas.DisputeOut:
        return await jurisdiction.get(principal=principal, dispute_id=dispute_id)

    @post(
        "/{dispute_id:uuid}/consent",
        summary="A party consents to the competent agency; both on the same one: agreed (within 7 working days)",
        status_code=200,
        responses=problems(OFFICE, NotFound, DisputeState),
        opt=declared(rules.DISPUTE_CONSENT),
    )
    async def consent(
        self, principal: NamedDependency[Principal], dispute_id: FromPath[UUID], data: JSONBody[schemas.ConsentIn]
    ) -> schemas.DisputeOut:
        return await jurisdiction.consent(principal=principal, dispute_id=dispute_id, data=data)

    @post(
        "/{dispute_id:uuid}/outcome",
        summary="The county government decides (after the deadline) or designates (any time) the competent agency",
        status_code=200,
        responses=problems(OFFICE, NotFound, DisputeState, CountyGovernmentOnly),
        opt=declared(rules.DISPUTE_OUTCOME),
    )
    async def outcome(
        self, principal: NamedDependency[Principal], dispute_id: FromPath[UUID], data: JSONBody[schemas.OutcomeIn]
    ) -> schemas.DisputeOut:
        return await jurisdiction.decide(principal=principal, dispute_id=dispute_id, data=data)


ROUTES: list[Any] = [PublicComplaintController, ComplaintController, CalendarController, DisputeController]
