"""Oversight's problems (each slug's Chinese title is in backend/core/language.py)."""

from __future__ import annotations

from backend.core.errors import Conflict, Forbidden


class ComplaintsNotOpen(Conflict):
    """R-CMP-1: no designated unit and published channels yet."""

    slug = "complaints-not-open"
    title = "This agency has not published its complaint channels"


class ComplaintState(Conflict):
    slug = "complaint-state"
    title = "The complaint is not in a state that allows this"


class DueChangeNeedsHead(Forbidden):
    """R-CMP-3: a later due date without a statute needs the agency head's approval."""

    slug = "due-change-needs-head"
    title = "Only the agency head approves a later due date"


class JusticeBureauOnly(Forbidden):
    slug = "justice-bureau-only"
    title = "Only the Justice Bureau's administrator may do this"


class DisputeState(Conflict):
    slug = "dispute-state"
    title = "The jurisdiction dispute is not in a state that allows this"


class CountyGovernmentOnly(Forbidden):
    slug = "county-government-only"
    title = "Only the county government decides or designates the competent agency"
