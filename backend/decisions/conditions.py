"""Every condition still missing before a legal review passes or a decision issues, in one
answer (issue 14, Found 12): the shape of the action start gate (``missing``: items with a
``code`` and a ``detail``), where each code is the slug of that one condition's problem
(``legal-review-required``, ``notice-not-served``, ``recusal-missing`` …).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from backend.core.errors import Conflict, ProblemError


class Missing(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One unmet condition: ``code`` is the slug of its problem, ``detail`` says it in words."""

    code: str
    detail: str
    user_id: UUID | None = None
    answer_deadline: datetime | None = None
    current_sha256: str | None = None
    reviewed_sha256: str | None = None
    changes: list[str] | None = None


def of(error: type[ProblemError], detail: str, **facts: object) -> Missing:
    return msgspec.convert({"code": error.slug, "detail": detail, **facts}, Missing)


def caught(error: ProblemError) -> Missing:
    """A condition a shared check raises (separation of functions in ``block`` mode)."""
    return Missing(code=error.slug, detail=error.detail)


class DecisionIssueBlocked(Conflict):
    slug = "decision-issue-blocked"
    title = "The decision cannot be issued yet"


class DecisionReviewBlocked(Conflict):
    slug = "decision-review-blocked"
    title = "The legal review cannot be recorded yet"


def refuse_if_any(blocked: type[Conflict], what: str, missing: list[Missing]) -> None:
    if missing:
        raise blocked(f"{what}: " + "; ".join(m.detail for m in missing), missing=msgspec.to_builtins(missing))
