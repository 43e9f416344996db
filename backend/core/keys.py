"""The server's Ed25519 key ring: signs access tokens, credentials, snapshots, checkpoints.

Keys live as PEM files in the key directory (``<kid>.pem``); ``current`` names the
signing key; ``published/<kid>.pub.pem`` keeps the public half of every key that ever signed.

Two uses, two horizons (issue 15):

- **Tokens** (access tokens, certificate credentials) verify only with the current key and
  keys retired less than ``key_retention_s`` ago (``token_key_for``): tokens live minutes.
- **Records** (ledger checkpoints, exports, check-in snapshots) must verify for as long as the
  records are kept, so every public key stays published in the JWKS for good
  (``public_key_for``, ``jwks``): a court holding an export of years ago fetches
  ``/public/v1/keys`` and finds the key its checkpoint names. Rotation is not revocation: a
  retired key is not suspect; only its tokens stop being accepted. Removing a retired
  ``<kid>.pem`` (the private key) leaves its published public key in place.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """RFC 7638-style thumbprint, shortened: stable and derived from the key itself."""
    return _b64url(hashlib.sha256(public_raw(key)).digest())[:16]


def jwk(key: Ed25519PublicKey) -> dict[str, str]:
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(public_raw(key)), "kid": key_id(key), "alg": ALGORITHM, "use": "sig"}


@dataclass
class KeyRing:
    signing_key: Ed25519PrivateKey
    # The current key and keys retired within the retention: what tokens verify with.
    public_keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    # Every other key that ever signed (public half only): what old records verify with.
    archived_keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)

    @property
    def kid(self) -> str:
        return key_id(self.signing_key.public_key())

    def sign_jwt(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.signing_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def sign_bytes(self, data: bytes) -> str:
        return _b64url(self.signing_key.sign(data))

    def public_key_for(self, kid: str) -> Ed25519PublicKey | None:
        """Any key that ever signed: for records (checkpoints, exports, snapshots)."""
        return self.public_keys.get(kid) or self.archived_keys.get(kid)

    def token_key_for(self, kid: str) -> Ed25519PublicKey | None:
        """The current key or one retired within the retention: for tokens."""
        return self.public_keys.get(kid)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Every public key that ever signed, the current one first."""
        ordered = {self.kid: self.signing_key.public_key(), **self.public_keys, **self.archived_keys}
        return {"keys": [jwk(k) for k in ordered.values()]}

    def decode_jwt(self, token: str, *, audience: str, issuer: str, required: list[str]) -> dict[str, Any]:
        """Verify with an explicit algorithm and required claims; unknown kid → InvalidTokenError."""
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise jwt.InvalidTokenError("unexpected algorithm or missing kid")
        key = self.token_key_for(kid)
        if key is None:
            raise jwt.InvalidTokenError("unknown signing key")
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer, options={"require": required}
        )
        return claims


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


PUBLISHED = "published"


def _publish(key_dir: Path, key: Ed25519PublicKey) -> None:
    """Keep the public half for good (``published/<kid>.pub.pem``), whatever becomes of the private."""
    folder = key_dir / PUBLISHED
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key_id(key)}.pub.pem"
    if not path.exists():
        pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.replace(path)


def rotate(key_dir: Path) -> str:
    """Create a new signing key and make it current. Returns its kid."""
    key_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    kid = key_id(key.public_key())
    _write_private(key_dir / f"{kid}.pem", key)
    _publish(key_dir, key.public_key())
    (key_dir / "current.tmp").write_text(kid)
    (key_dir / "current.tmp").replace(key_dir / "current")
    return kid


def load_key_ring(key_dir: Path, *, retention_s: int) -> KeyRing:
    """Load (creating on first run) the key ring: recent keys verify tokens, every key records."""
    if not (key_dir / "current").exists():
        rotate(key_dir)
    current = (key_dir / "current").read_text().strip()
    signing: Ed25519PrivateKey | None = None
    public: dict[str, Ed25519PublicKey] = {}
    archived: dict[str, Ed25519PublicKey] = {}
    horizon = time.time() - retention_s
    for pem in sorted(key_dir.glob("*.pem")):
        key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            continue
        _publish(key_dir, key.public_key())  # key folders from before the published/ folder
        if pem.stem == current:
            signing = key
        elif pem.stat().st_mtime < horizon:
            archived[pem.stem] = key.public_key()
            continue
        public[pem.stem] = key.public_key()
    for pem in sorted((key_dir / PUBLISHED).glob("*.pub.pem")):
        published = serialization.load_pem_public_key(pem.read_bytes())
        if isinstance(published, Ed25519PublicKey) and key_id(published) not in public:
            archived.setdefault(key_id(published), published)
    if signing is None:
        raise RuntimeError(f"key directory {key_dir}: current key {current!r} is missing")
    return KeyRing(signing_key=signing, public_keys=public, archived_keys=archived)
