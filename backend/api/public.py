"""Public HTTP (/public/v1), no login: signing keys, ledger checkpoints, certificate verification.

Nothing private is answered here; the party at the door scans an officer's QR and lands on
``/public/v1/certificates/verify``. A court checking an export package takes the agency's
keys, a signed ledger checkpoint and the verifier from here, independently of the package
(``evidence/custody/export.py`` README, ``evidence/custody/verify_export.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.response import Response

from backend.core.access import PUBLIC, declared
from backend.core.errors import NotFound, TooManyRequests
from backend.core.http.authentication import client_address
from backend.core.http.openapi import WITH_INPUT, problems
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from backend.ledger import chain, checkpoint
from backend.ledger.schemas import CheckpointOut
from certificates import credentials, ratelimit, schemas, signing
from evidence.custody.export import VERIFIER

# A credential JWT is well under 2 KB; anything longer is not ours (and is answered "invalid").
MAX_TOKEN_LENGTH = 4096
# Sequence numbers are BIGINT: a larger one is refused as input, never sent to the database.
MAX_SEQ = 2**53 - 1  # exact in every JSON number reader (2**63 - 1 is not: a float compares it wrong)


class PublishedCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A signed statement "the ledger had ``seq`` entries ending in ``head_hash``" (R-REC-7).

    ``signed_at`` is the exact text the signature covers (``backend/ledger/chain.py``
    ``checkpoint_message``); the document is what ``verify_export.py --checkpoint`` reads.
    """

    seq: int
    head_hash: str
    signed_at: str
    key_id: str
    signature: str

    @classmethod
    def of(cls, cp: CheckpointOut) -> PublishedCheckpoint:
        signed_at = chain.format_time(cp.signed_at)
        return cls(seq=cp.seq, head_hash=cp.head_hash, signed_at=signed_at, key_id=cp.key_id, signature=cp.signature)


class CheckpointPage(msgspec.Struct, frozen=True, kw_only=True):
    checkpoints: list[PublishedCheckpoint]
    next_after_seq: int | None = None


class PublicController(Controller):
    """No login. Nothing private is answered here."""

    path = "/public/v1"
    tags = ["public"]

    @get("/keys", summary="JWKS: the current and recent public signing keys", opt=declared(PUBLIC))
    async def keys(self, keys: NamedDependency[KeyRing]) -> Response[dict[str, list[dict[str, str]]]]:
        return Response(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @get("/keys/archive", summary="Every public key that ever signed a check-in snapshot", opt=declared(PUBLIC))
    async def archived_keys(self) -> dict[str, list[dict[str, str]]]:
        return await signing.archived_keys()

    @get(
        "/ledger/checkpoints",
        summary="Signed ledger checkpoints in sequence order, one per head (keep them)",
        responses=problems(WITH_INPUT),
        opt=declared(PUBLIC),
    )
    async def checkpoints(
        self,
        after_seq: Annotated[int, QueryParameter(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> Response[CheckpointPage]:
        rows = await checkpoint.published_checkpoints(after_seq=after_seq, limit=limit)
        page = [PublishedCheckpoint.of(cp) for cp in rows]
        # A full page of rows may continue; the next one starts after the last head returned.
        more = page[-1].seq if page and len(rows) == limit else None
        return Response(CheckpointPage(checkpoints=page, next_after_seq=more), headers={"Cache-Control": "public, max-age=60"})

    @get(
        "/ledger/checkpoints/latest",
        summary="The newest signed ledger checkpoint",
        responses=problems(NotFound),
        opt=declared(PUBLIC),
    )
    async def latest_checkpoint(self) -> Response[PublishedCheckpoint]:
        latest = await checkpoint.latest_checkpoint()
        if latest is None:
            raise NotFound("no checkpoint has been signed yet")
        return Response(PublishedCheckpoint.of(latest), headers={"Cache-Control": "public, max-age=60"})

    @get(
        "/ledger/checkpoints/{seq:int}",
        summary="The signed ledger checkpoint at one sequence number (e.g. an export's head)",
        responses=problems(WITH_INPUT, NotFound),
        opt=declared(PUBLIC),
    )
    async def checkpoint_at(self, seq: Annotated[int, PathParameter(ge=0, le=MAX_SEQ)]) -> Response[PublishedCheckpoint]:
        found = await checkpoint.checkpoint_at(seq=seq)
        if found is None:
            raise NotFound(f"no checkpoint was signed at seq {seq}")
        # A checkpoint never changes once signed.
        return Response(PublishedCheckpoint.of(found), headers={"Cache-Control": "public, max-age=86400, immutable"})

    @get(
        "/ledger/verifier",
        summary="The export verifier (verify_export.py), to check or replace a package's copy",
        media_type="text/x-python; charset=utf-8",
        opt=declared(PUBLIC),
    )
    async def verifier(self) -> Response[bytes]:
        return Response(
            VERIFIER.read_bytes(),
            headers={"Content-Disposition": 'attachment; filename="verify_export.py"', "Cache-Control": "public, max-age=300"},
        )

    @get(
        "/certificates/verify",
        summary="Verify a certificate credential: its CURRENT status",
        responses=problems(WITH_INPUT, TooManyRequests),
        opt=declared(PUBLIC),
    )
    async def verify(
        self,
        request: Request[Any, Any, Any],
        keys: NamedDependency[KeyRing],
        settings: NamedDependency[Settings],
        token: Annotated[str, QueryParameter(min_length=1)],
    ) -> Response[schemas.PublicVerification]:
        if not await ratelimit.allow(
            scope="verify", key=client_address(request), limit=settings.public_verify_per_minute, window_s=60
        ):
            raise TooManyRequests("too many verifications from this address; try again in a minute", retry_after=60)
        if len(token) > MAX_TOKEN_LENGTH:
            result = await credentials.verify_public(keys=keys, token="")
        else:
            result = await credentials.verify_public(keys=keys, token=token)
        return Response(result, headers={"Cache-Control": "no-store"})


ROUTES: list[Any] = [PublicController]
