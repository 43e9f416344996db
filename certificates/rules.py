"""Who may do what with enforcement certificates (backend/core/access.py).

An agency's admin manages its own people's certificates; the Justice Bureau's admin holds the
certificate powers across agencies the rules give it (R-CERT-1/3, ``Part.REGISTRAR``). A
certificate outside the caller's reach is a 404, even to a colleague without the admin role
(``reading.managed_certificate``): the manage rule is enforced there.
"""

from __future__ import annotations

from backend.core.access import On, Part, rule

ISSUE = rule("certificate.issue", Part.ADMIN, Part.REGISTRAR, writes=True)
LIST = rule("certificate.list", Part.ADMIN, writes=False)  # the Justice Bureau's admin sees every agency's
READ = rule("certificate.read", Part.ADMIN, Part.REGISTRAR, writes=False, on=On.PERSON)
MANAGE = rule("certificate.manage", Part.ADMIN, Part.REGISTRAR, writes=True, on=On.PERSON)
# The holder's own: status on the phone, the signed credential and its QR code (R-CERT-4).
MINE = rule("certificate.mine", Part.SIGNED_IN, writes=False)
CREDENTIAL = rule("certificate.credential", Part.SELF, writes=False, on=On.PERSON)

# The admin's work queue (issue 14, point 5): certificates expiring within 30 days; like LIST,
# the Justice Bureau's admin sees every agency's.
EXPIRING_QUEUE = rule("queue.certificates-expiring", Part.ADMIN, writes=False)
