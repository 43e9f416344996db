"""R-CERT-2: the certificate state machine as pure logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.errors import IllegalTransition
from certificates import lifecycle

BASE = datetime(2026, 1, 1, tzinfo=UTC)
stored_states = st.sampled_from(["active", "suspended", "revoked"])
offsets = st.integers(min_value=-10_000, max_value=10_000).map(lambda m: BASE + timedelta(minutes=m))
actions = st.sampled_from(list(lifecycle.TRANSITIONS))


@pytest.mark.requirement("R-CERT-2")
@pytest.mark.parametrize(
    ("action", "current", "target"),
    [
        ("suspend", "active", "suspended"),
        ("suspend", "expired", "suspended"),
        ("reinstate", "suspended", "active"),
        ("revoke", "active", "revoked"),
        ("revoke", "suspended", "revoked"),
        ("revoke", "expired", "revoked"),
        ("renew", "active", "active"),
        ("renew", "expired", "active"),
    ],
)
def test_legal_transitions(action, current, target):
    assert lifecycle.next_status(action=action, current=current) == target


@pytest.mark.requirement("R-CERT-2")
@pytest.mark.parametrize(
    ("action", "current"),
    [
        ("suspend", "suspended"),
        ("suspend", "revoked"),
        ("reinstate", "active"),
        ("reinstate", "expired"),
        ("reinstate", "revoked"),
        ("revoke", "revoked"),
        ("renew", "suspended"),
        ("renew", "revoked"),
    ],
)
def test_illegal_transitions(action, current):
    with pytest.raises(IllegalTransition) as raised:
        lifecycle.next_status(action=action, current=current)
    assert raised.value.status == 409
    assert raised.value.extra["current_status"] == current


@given(action=actions)
def test_revoked_is_terminal(action):
    with pytest.raises(IllegalTransition):
        lifecycle.next_status(action=action, current="revoked")


@pytest.mark.requirement("R-CERT-2")
@given(stored=stored_states, valid_from=offsets, valid_until=offsets, at=offsets)
def test_only_active_within_validity_verifies(stored, valid_from, valid_until, at):
    reason = lifecycle.refusal(stored=stored, valid_from=valid_from, valid_until=valid_until, at=at)
    verifies = stored == "active" and valid_from <= at < valid_until
    assert (reason is None) == verifies
    if stored != "active":
        # A decided state outranks the clock: a suspended certificate never reads "expired".
        assert reason == stored


@given(valid_until=offsets, at=offsets)
def test_expiry_is_derived_from_the_clock(valid_until, at):
    status = lifecycle.effective_status(stored="active", valid_until=valid_until, at=at)
    assert status == ("expired" if at >= valid_until else "active")
