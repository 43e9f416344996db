"""The certificate state machine (R-CERT-2), as pure functions of the stored state and the clock.

Stored states are the decided ones (``active``, ``suspended``, ``revoked``); ``expired`` is
derived from ``valid_until`` and the server clock, so it is correct without any job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from backend.core.errors import IllegalTransition

Status = Literal["active", "suspended", "revoked", "expired"]
Action = Literal["suspend", "reinstate", "revoke", "renew"]
CertificateReason = Literal["suspended", "revoked", "expired", "not_yet_valid"]

# action -> (effective states it may start from, stored state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[str], str]] = {
    # An expired certificate may still be suspended or revoked: a sanction must not be dodged
    # by letting the card lapse and renewing it later (R-CERT-7).
    "suspend": (frozenset({"active", "expired"}), "suspended"),
    "reinstate": (frozenset({"suspended"}), "active"),
    # 注销 is terminal: nothing leaves ``revoked``.
    "revoke": (frozenset({"active", "suspended", "expired"}), "revoked"),
    # Renewal gives new validity to the same holder; a suspended card is reinstated first.
    "renew": (frozenset({"active", "expired"}), "active"),
}


def effective_status(*, stored: str, valid_until: datetime, at: datetime) -> Status:
    if stored == "revoked":
        return "revoked"
    if stored == "suspended":
        return "suspended"
    if at >= valid_until:
        return "expired"
    return "active"


def refusal(*, stored: str, valid_from: datetime, valid_until: datetime, at: datetime) -> CertificateReason | None:
    """Why this certificate does not verify at ``at``; None when it does (only active within validity)."""
    status = effective_status(stored=stored, valid_until=valid_until, at=at)
    if status != "active":
        return status
    if at < valid_from:
        return "not_yet_valid"
    return None


def next_status(*, action: Action, current: Status) -> str:
    """The stored state after ``action``, or IllegalTransition (409)."""
    allowed_from, target = TRANSITIONS[action]
    if current not in allowed_from:
        raise IllegalTransition(
            f"cannot {action} a certificate that is {current}",
            current_status=current,
            allowed_from=sorted(allowed_from),
        )
    return target
