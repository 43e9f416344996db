"""Who may do what in oversight (backend/core/access.py): one ``Rule`` per act.

Complaints (R-CMP) belong to the agency complained to: its supervisors and head (admin)
accept, assign and watch the deadlines, the assigned handler investigates and replies, the
head alone approves a later due date (R-CMP-3). The public submits and follows its own
complaint without signing in, by tracking number and verification code.
"""

from __future__ import annotations

from backend.core.access import Part, rule
from backend.core.errors import Forbidden


class NotComplaintHandler(Forbidden):
    slug = "not-complaint-handler"
    title = "You are not the handler of this complaint"


S, A, H = Part.SUPERVISOR, Part.ADMIN, Part.HANDLER

# --- the statutory calendar: the Justice Bureau loads a year's holiday notice ---------------
CALENDAR_READ = rule("calendar.read", Part.SIGNED_IN, writes=False)
# The Justice Bureau's admin; the service refuses the county government's (REGISTRAR covers both).
CALENDAR_LOAD = rule("calendar.load-year", Part.REGISTRAR, writes=True)

# --- complaints (R-CMP-1..4) ------------------------------------------------------------
COMPLAINT_PUBLIC = rule("complaint.public", Part.PUBLIC, writes=True)  # submit, follow, channels
CHANNEL_READ = rule("complaint.read-channel", Part.SIGNED_IN, writes=False)
CHANNEL_PUBLISH = rule("complaint.publish-channel", A, writes=True)  # R-CMP-1
COMPLAINT_QUEUE = rule("complaint.queue", S, A, writes=False)  # lists, overdue, due soon
COMPLAINT_READ = rule("complaint.read", S, A, H, writes=False)
COMPLAINT_ACCEPT = rule("complaint.accept", S, A, writes=True)
COMPLAINT_HANDLE = rule("complaint.handle", H, writes=True, refusal=NotComplaintHandler)  # findings, reply
COMPLAINT_DUE_CHANGE = rule("complaint.change-due-date", S, A, writes=True)  # R-CMP-3 (head or statute)
COMPLAINT_FAULT_LINK = rule("complaint.link-fault", S, A, writes=True)  # R-CMP-4

# --- jurisdiction disputes (R-AGY-4) ------------------------------------------------------
DISPUTE_OPEN = rule("dispute.open", S, A, writes=True)
# The parties read their disputes; the county government (REGISTRAR; the service admits
# only its kind for outcomes) reads them all.
DISPUTE_READ = rule("dispute.read", Part.SIGNED_IN, Part.REGISTRAR, writes=False)
DISPUTE_CONSENT = rule("dispute.consent", S, A, writes=True)
DISPUTE_OUTCOME = rule("dispute.decide", Part.REGISTRAR, writes=True)
