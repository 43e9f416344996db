"""Who may do what in the decisions area (backend/core/access.py): one ``Rule`` per act.

A decision belongs to its case: drafting, notices and hearings need a handler of the case
or a supervisor; recusal declarations at case level come from the people who hold a decision
role on it (handlers, legal reviewers, approvers); an officer of the agency with no part in
the case changes nothing of its decision (issue "field integrity", defect 1). The caller's
parts are decided by the field workflow (``backend.field.relations``).
"""

from __future__ import annotations

from backend.core.access import On, Part, rule
from backend.field.rules import NotAssigned

H, S, A, L = Part.HANDLER, Part.SUPERVISOR, Part.ADMIN, Part.LEGAL_REVIEWER

# The Justice Bureau (R-SUP-2) and the entrusting agency (R-AGY-6) read them too, ledgered.
READ = rule("decision.read", Part.SIGNED_IN, Part.ENTRUSTING, Part.JUSTICE, writes=False, on=On.CASE, purpose="监督检查")
DRAFT = rule("decision.draft", H, S, writes=True, on=On.CASE, refusal=NotAssigned)  # drafts, notices, hearings
# An officer of the agency declares too: a hearing host or discussion member who is no handler
# must have declared before taking that part (R-RCS-2/3; hearings.py, discussions.py check it).
DECLARE = rule("decision.declare-recusal", H, L, S, A, Part.OFFICER, writes=True, on=On.CASE, refusal=NotAssigned)
REVIEW = rule("decision.legal-review", L, writes=True, on=On.CASE)  # and designated (reviewers.py)
REVIEW_BUNDLE = rule("decision.review-bundle", L, S, A, writes=False, on=On.CASE)
DISCUSS = rule("decision.collective-discussion", S, A, writes=True, on=On.CASE)
ISSUE = rule("decision.issue", S, A, writes=True, on=On.CASE)

# The agency's standards: benchmarks, major-decision catalog, answer periods, reviewers.
STANDARDS_READ = rule("standards.read", Part.SIGNED_IN, writes=False)
STANDARDS_CHANGE = rule("standards.change", A, writes=True)
# One benchmark version or catalog entry of the agency, named by id (another agency's: 404).
STANDARD_READ = rule("standards.read-one", Part.SIGNED_IN, writes=False, on=On.AGENCY)
STANDARD_CHANGE = rule("standards.change-one", A, writes=True, on=On.AGENCY)
REVIEWERS_CHANGE = rule("standards.designate-reviewers", A, writes=True, on=On.PERSON)
REVIEWER_RATIO = rule("standards.reviewer-ratio", A, S, writes=False)
PUBLIC = rule("decisions.public", Part.PUBLIC, writes=False)  # published benchmarks and decisions

# The legal reviewer's work queue (issue 14, point 5): drafts of the agency waiting for review.
REVIEW_QUEUE = rule("queue.reviews", L, writes=False)
