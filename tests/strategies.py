"""Hypothesis strategies for hostile input (issue 15): what the input policy must refuse cleanly.

``hostile_text`` mixes NUL, C0/C1 controls, DEL, lone surrogates, tab/newline and ordinary
text; ``instants`` spans every representable date-time in the widest offsets, so
``9999-12-31T23:59:59-14:00`` and ``0001-01-01T00:00:00+14:00`` are in reach. Used by
tests/integration/core/test_input_policy.py; any fuzzing test may feed them into string and
date-time fields.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14)), timezone(timedelta(hours=8))])
instants = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=ZONES)
hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800", "\udfff", "\n", "\t"]),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=40,
)

__all__ = ["ZONES", "hostile_text", "instants"]
