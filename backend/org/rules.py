"""Who may do what in the organisation (backend/core/access.py): one ``Rule`` per act.

Each agency administers itself; the Justice Bureau (and the county government) hold only the
registry power across agencies (registering agencies, R-AGY-1) — never another agency's
users or roles (issue "field integrity", defect 2).
"""

from __future__ import annotations

from backend.core.access import On, Part, rule

SESSION = rule("auth.session", Part.PUBLIC, writes=True)  # log in, refresh, log out
ME = rule("org.me", Part.SIGNED_IN, writes=False)
REGISTRY_READ = rule("org.read-registry", Part.SIGNED_IN, writes=False)  # agencies are public (R-PUB-3)
AGENCY_REGISTER = rule("org.register-agency", Part.REGISTRAR, writes=True)
USERS_READ = rule("org.read-users", Part.ADMIN, Part.SUPERVISOR, writes=False)
USER_READ = rule("org.read-user", Part.ADMIN, Part.SUPERVISOR, writes=False, on=On.PERSON)
USER_CREATE = rule("org.create-user", Part.ADMIN, writes=True)
USER_UPDATE = rule("org.update-user", Part.ADMIN, writes=True, on=On.PERSON)
USER_UNLOCK = rule("org.unlock-user", Part.ADMIN, writes=True, on=On.PERSON)
UNITS_READ = rule("org.read-units", Part.SIGNED_IN, writes=False)
UNITS_CHANGE = rule("org.change-units", Part.ADMIN, writes=True)  # units and posts (R-AGY-2)
ENTRUSTMENTS_READ = rule("org.read-entrustments", Part.SIGNED_IN, writes=False)
ENTRUST = rule("org.entrust", Part.ADMIN, writes=True)  # R-AGY-5
