"""Tables of the `evidence` area.

No foreign keys to enforcement tables (the evidence area must not depend on them):
``case_id``/``action_id`` are plain UUIDs handed in by ``authorize_capture``.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from backend.org.tables import Agency, User


class EvidenceItem(Table, tablename="evidence_item"):
    """One capture attached to a case (R-REC-5): never updated in its facts, never deleted (R-REC-6)."""

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict, index=True)
    uploader = ForeignKey(User, on_delete=OnDelete.restrict)
    case_id = UUID(index=True)
    action_id = UUID(null=True, default=None, index=True)
    certificate_snapshot_id = Varchar(length=128, null=True, default=None)
    kind = Varchar(length=16)
    status = Varchar(length=16, default="received")
    sha256 = Varchar(length=64, index=True)
    size = BigInt()
    media_type = Varchar(length=100)
    object_key = Varchar(length=100)
    filename = Varchar(length=255, null=True, default=None)
    device_id = Varchar(length=128)
    device_captured_at = Timestamptz()
    media_captured_at = Timestamptz(null=True, default=None)
    received_at = Timestamptz()
    # Device clock minus server clock when the phone sent it (None if the phone did not say).
    clock_skew_s = DoublePrecision(null=True, default=None)
    clock_skew_flagged = Boolean(default=False)
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    accuracy_m = DoublePrecision(null=True, default=None)
    duration_s = DoublePrecision(null=True, default=None)
    has_audio = Boolean(default=False)
    has_video = Boolean(default=False)
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    metadata = JSON(default={})
    thumbnail_key = Varchar(length=100, null=True, default=None)
    thumbnail_sha256 = Varchar(length=64, null=True, default=None)
    duplicate_of = UUID(null=True, default=None)
    metadata_extracted_at = Timestamptz(null=True, default=None)


TABLES: list[type[Table]] = [EvidenceItem]
