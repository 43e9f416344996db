"""The whole-file SHA-256 survives being saved and resumed between PATCHes (R-REC-5)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.uploads import hashstate


@pytest.mark.requirement("R-REC-5")
@given(st.lists(st.binary(max_size=300), max_size=12))
def test_any_split_saved_and_resumed_equals_hashlib(chunks):
    if not hashstate.resumable():
        pytest.skip("libcrypto not loadable here: uploads fall back to one re-read")
    state = hashstate.new_sha256().state()
    for chunk in chunks:
        hasher = hashstate.resume_sha256(state)
        assert hasher is not None
        hasher.update(chunk)
        state = hasher.state()
    resumed = hashstate.resume_sha256(state)
    assert resumed is not None
    assert resumed.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()


@given(st.binary(max_size=200), st.sampled_from([bytes, bytearray, memoryview]))
def test_every_buffer_type_hashes_alike(data, kind):
    hasher = hashstate.new_sha256()
    hasher.update(kind(data))
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()


def test_hexdigest_does_not_consume_the_state():
    hasher = hashstate.new_sha256()
    hasher.update(b"abc")
    assert hasher.hexdigest() == hasher.hexdigest()
    hasher.update(b"def")
    assert hasher.hexdigest() == hashlib.sha256(b"abcdef").hexdigest()


@pytest.mark.parametrize("state", [None, b"", b"other-format:" + b"\0" * 112, b"ossl-sha256-ctx-v1:" + b"\0" * 10])
def test_unusable_state_is_reported_lost_not_trusted(state):
    assert hashstate.resume_sha256(state) is None
