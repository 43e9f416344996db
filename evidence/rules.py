"""Who may capture and read evidence (backend/core/access.py).

Capture is decided by the field workflow's ``authorize_capture`` (the one entry point for
evidence: outside actions a handler of the case, during an action a participant with a
successful check-in); the rules here are what the routes declare for it.
"""

from __future__ import annotations

from backend.core.access import On, Part, rule

CAPTURE = rule("evidence.capture", Part.HANDLER, Part.PARTICIPANT, writes=True, on=On.CASE)
READ = rule("evidence.read", Part.SIGNED_IN, writes=False, on=On.CASE)
# A resumable upload is its uploader's: offset, chunks and termination (others: 404).
OWN_UPLOAD = rule("evidence.own-upload", Part.SELF, writes=True, on=On.PERSON)
