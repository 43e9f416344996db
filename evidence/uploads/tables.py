"""Tables of the `uploads` area: one row per tus upload, the single source of truth.

Everything shared between requests lives here (offset, parts, hash state, the write lock),
so any API process can continue an upload another one began (scale-out).
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, BigInt, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Upload(Table, tablename="uploads_upload"):
    id = UUID(primary_key=True)
    owner_id = UUID(index=True)  # the user who created it: the only one who may touch it
    agency_id = UUID()
    # open → completing → completed | rejected; open → terminated | expired
    status = Varchar(length=16, default="open", index=True, index_method=IndexMethod.btree)
    kind = Varchar(length=16)
    length = BigInt()
    # Durable bytes only (parts + tail pieces acknowledged by the store): HEAD reports this.
    offset = BigInt(default=0)
    declared_sha256 = Varchar(length=64)
    filename = Varchar(length=255, default="")
    filetype = Varchar(length=127, default="application/octet-stream")
    metadata = JSON(default={})  # the decoded Upload-Metadata, as the phone sent it
    context = JSON(default={})  # evidence.schemas.CaptureContext from authorize_capture at creation
    staging_key = Varchar(length=255)
    multipart_id = Varchar(length=255, null=True, default=None)
    parts = JSON(default=[])  # [{"number", "size", "etag"}]: our own record (ListParts is not authoritative)
    tail = JSON(default=[])  # [{"key", "offset", "size"}]: bytes not yet in a ≥ 5 MiB part
    # OpenSSL SHA-256 context (base64) valid for exactly `hash_offset` bytes; else lost.
    hash_state = Text(null=True, default=None)
    hash_offset = BigInt(default=0)
    # The file's first bytes (base64, ≤ 64): its type is sniffed before anything is sealed,
    # since the parts of a multipart upload at the content key cannot be read back.
    head = Text(null=True, default=None)
    lock_token = Varchar(length=64, null=True, default=None)
    lock_expires_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    expires_at = Timestamptz(index=True)
    completed_at = Timestamptz(null=True, default=None)
    evidence_id = UUID(null=True, default=None)
    failure = Varchar(length=255, default="")
    # Staged data removed (after completion, rejection, termination or expiry).
    staged_cleaned_at = Timestamptz(null=True, default=None)


TABLES: list[type[Table]] = [Upload]
