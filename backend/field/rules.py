"""Who may do what in the field workflow: one ``Rule`` per act (backend/core/access.py).

Declared on the routes (``backend/api/field.py``, ``mobile_api/field.py``) and enforced in
the services with the caller's parts from ``backend.field.relations``. Writes on a case
need a part in it (issue "field integrity", defect 1): an officer of the agency who is not a
handler of the case changes nothing in it. Cross-agency reads: the entrusting agency of an
entrusted case (R-AGY-6) and the Justice Bureau (R-SUP-2), each ledgered with its purpose.
"""

from __future__ import annotations

from backend.core.access import On, Part, rule
from backend.core.errors import Forbidden


class NotAssigned(Forbidden):
    slug = "not-assigned"
    title = "You are not assigned to this case or action"


H, P, S, A = Part.HANDLER, Part.PARTICIPANT, Part.SUPERVISOR, Part.ADMIN
OVERSIGHT = (Part.ENTRUSTING, Part.JUSTICE)  # read-only, ledgered with the purpose

# --- cases ---------------------------------------------------------------------------------
CASE_OPEN = rule("case.open", Part.OFFICER, S, A, writes=True)
CASE_LIST = rule("case.list", Part.SIGNED_IN, writes=False, purpose="监督检查")
CASE_READ = rule("case.read", Part.SIGNED_IN, *OVERSIGHT, writes=False, on=On.CASE, purpose="监督检查")
CASE_ASSIGN = rule("case.assign-officer", S, A, writes=True, on=On.CASE)
CASE_ADD_RECORD = rule("case.add-record", H, S, writes=True, on=On.CASE, refusal=NotAssigned)
CASE_ADVANCE = rule("case.advance-stage", H, S, writes=True, on=On.CASE, refusal=NotAssigned)
RECUSAL_REQUEST = rule("case.raise-recusal-request", H, S, A, writes=True, on=On.CASE, refusal=NotAssigned)
RECUSAL_DECIDE = rule("case.decide-recusal-request", S, A, writes=True, on=On.CASE)
# R-RCS-2: an officer of the agency declares on a case before being assigned to it.
CASE_DECLARE = rule("case.declare-recusal", Part.OFFICER, S, writes=True, on=On.CASE)
# Taking a wrongly assigned officer off a case, with a reason (ledgered; declarations stay).
CASE_REMOVE_OFFICER = rule("case.remove-officer", S, A, writes=True, on=On.CASE)

# --- actions -------------------------------------------------------------------------------
ACTION_PLAN = rule("action.plan", H, S, writes=True, on=On.CASE, refusal=NotAssigned)
ACTION_READ = rule("action.read", Part.SIGNED_IN, *OVERSIGHT, writes=False, on=On.ACTION, purpose="监督检查")
ACTION_ADD_PARTICIPANT = rule("action.add-participant", H, S, writes=True, on=On.ACTION, refusal=NotAssigned)
# Taking a wrongly planned participant off an action, with a reason (check-ins stay).
ACTION_REMOVE_PARTICIPANT = rule("action.remove-participant", S, A, writes=True, on=On.ACTION)
ACTION_COERCION_REASON = rule("action.coercion-reason", H, S, writes=True, on=On.ACTION, refusal=NotAssigned)
ACTION_ON_SITE = rule("action.on-site", P, writes=True, on=On.ACTION, refusal=NotAssigned)
ACTION_CLOSE = rule("action.close", P, S, A, writes=True, on=On.ACTION, refusal=NotAssigned)
COVERAGE_STORE = rule("action.store-coverage", H, S, writes=True, on=On.ACTION, refusal=NotAssigned)
GAP_APPROVE = rule("action.approve-gap-reason", S, writes=True, on=On.ACTION)
# The phone's own reads (checklist, manifests) within the agency.
PHONE_READ = rule("action.phone-read", Part.SIGNED_IN, writes=False, on=On.ACTION)

# R-CERT-5: exempting an action kind from showing the certificate needs its legal citation.
CERTIFICATE_EXEMPT = rule("agency.exempt-certificate-showing", A, writes=True)
CERTIFICATE_EXEMPTIONS_READ = rule("agency.read-certificate-exemptions", Part.SIGNED_IN, writes=False)

# --- the person's own things ---------------------------------------------------------------
ME = rule("me.read", Part.SIGNED_IN, writes=False)
DEVICE_REGISTER = rule("device.register", Part.SIGNED_IN, writes=True)
DEVICE_LIST = rule("device.list", A, writes=False)
DEVICE_REVOKE = rule("device.revoke", A, writes=True, on=On.PERSON)
GAP_REASON = rule("action.record-gap-reason", P, S, A, writes=True, on=On.ACTION, refusal=NotAssigned)
# Closing one's own recording session: the session is the caller's (404 otherwise).
RECORDING_CLOSE = rule("action.close-recording", P, writes=True, on=On.ACTION, refusal=NotAssigned)
DEVICE_MINE = rule("device.mine", Part.SIGNED_IN, writes=False)

# --- work queues (issue 14, point 5): the caller's own agency as a whole is the object -------
GAP_REASON_QUEUE = rule("queue.gap-reasons", S, writes=False)  # R-REC-4: a supervisor approves
# R-RCS-4: decided by the responsible person, the agency head (admin) when a supervisor is challenged.
RECUSAL_QUEUE = rule("queue.recusal-requests", S, A, writes=False)
COVERAGE_QUEUE = rule("queue.coverage-incomplete", S, writes=False)
