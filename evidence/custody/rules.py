"""Who may read and act on custody (backend/core/access.py): one ``Rule`` per act.

The case a custody route names is found and the caller's part in it decided by the field
workflow (``backend.field.relations``, reached from ``backend/api/custody.py``). The Justice
Bureau reads evidence chains of every agency (R-SUP-2) and the entrusting agency those of
cases under its entrustments (R-AGY-6): read-only, each read ledgered with its purpose.
"""

from __future__ import annotations

from backend.core.access import On, Part, rule

S, L = Part.SUPERVISOR, Part.LEGAL_REVIEWER

REVIEW = rule("custody.review", S, L, Part.JUSTICE, Part.ENTRUSTING, writes=False, on=On.CASE, purpose="监督检查：证据链")
VERIFY_LEDGER = rule("custody.verify-ledger", S, L, writes=False)
VERIFY_OBJECTS = rule("custody.verify-objects", S, L, writes=True, on=On.CASE)
READ_VERIFICATION = rule("custody.read-verification", S, L, writes=False)
# Retrieval: a handler of the case or a reviewer; the purpose is required and logged (R-REC-7).
RETRIEVE = rule("custody.retrieve", Part.HANDLER, S, L, writes=False, on=On.CASE)
EXPORT = rule("custody.export", S, L, writes=False, on=On.CASE)
LEGAL_HOLD = rule("custody.legal-hold", S, L, writes=True, on=On.CASE)

# Finding evidence by case, action, officer or time (R-REC-8): records, not content.
SEARCH = rule("evidence.search", S, L, writes=False)
