"""Rotated keys stay published: old checkpoints and exports verify; old tokens do not (issue 15)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import jwt
import pytest

from backend.core.keys import load_key_ring, rotate


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


@pytest.mark.requirement("R-REC-7")
def test_a_key_retired_past_the_retention_still_verifies_records_but_not_tokens(tmp_path: Path) -> None:
    old = load_key_ring(tmp_path, retention_s=3600)
    record = b"checkpoint seq=42 head=ab12"
    signature = old.signing_key.sign(record)
    token = old.sign_jwt({"sub": "u", "aud": "a", "iss": "i", "exp": int(time.time()) + 600})

    rotate(tmp_path)
    _age(tmp_path / f"{old.kid}.pem", 10)
    ring = load_key_ring(tmp_path, retention_s=1)

    assert ring.kid != old.kid
    published = [key["kid"] for key in ring.jwks()["keys"]]
    assert published[0] == ring.kid  # the current key first
    assert old.kid in published  # and every older one kept
    key = ring.public_key_for(old.kid)
    assert key is not None
    key.verify(signature, record)  # a checkpoint signed before the rotation still verifies
    assert ring.token_key_for(old.kid) is None
    with pytest.raises(jwt.InvalidTokenError):
        ring.decode_jwt(token, audience="a", issuer="i", required=["exp"])


def test_the_public_half_stays_published_when_the_private_key_is_removed(tmp_path: Path) -> None:
    old = load_key_ring(tmp_path, retention_s=3600)
    rotate(tmp_path)
    (tmp_path / f"{old.kid}.pem").unlink()  # the operator destroys the retired private key
    ring = load_key_ring(tmp_path, retention_s=3600)
    assert old.kid in {key["kid"] for key in ring.jwks()["keys"]}
    assert ring.public_key_for(old.kid) is not None
    assert ring.token_key_for(old.kid) is None


def test_tokens_of_a_recently_retired_key_still_verify(tmp_path: Path) -> None:
    old = load_key_ring(tmp_path, retention_s=3600)
    token = old.sign_jwt({"sub": "u", "aud": "a", "iss": "i", "exp": int(time.time()) + 600})
    rotate(tmp_path)
    ring = load_key_ring(tmp_path, retention_s=3600)
    assert ring.decode_jwt(token, audience="a", issuer="i", required=["exp"])["sub"] == "u"
