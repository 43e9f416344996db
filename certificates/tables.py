"""Tables of the `certificates` area (R-CERT): certificates, their history, card recovery, rate limits."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from backend.org.tables import Agency, User


class Certificate(Table, tablename="cert_certificate"):
    """An enforcement certificate (执法证件). ``status`` holds the decided state only;
    ``expired`` and ``not yet valid`` are derived from the clock (R-CERT-2), so no job is needed."""

    id = UUID(primary_key=True)
    number = Varchar(length=64, unique=True)
    holder = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict, index=True)
    domains = JSON(default=[])
    valid_from = Timestamptz()
    valid_until = Timestamptz()
    photo_ref = Varchar(length=255, default="")
    # R-CERT-1: the qualification review by the agency and the Justice Bureau's exam.
    qualification_review_ref = Varchar(length=255)
    exam_id = Varchar(length=64)
    exam_date = Date(null=True, default=None)
    exam_score = Integer()
    exam_pass_mark = Integer()
    status = Varchar(length=16, default="active", index=True)
    suspended_until = Timestamptz(null=True, default=None)
    # Bumped on every change: compare-and-set, so two concurrent transitions cannot both win.
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CertificateEvent(Table, tablename="cert_event"):
    """Append-only history of every state change (R-CERT-2): who, when, why, which document."""

    id = UUID(primary_key=True)
    certificate = ForeignKey(Certificate, on_delete=OnDelete.restrict, index=True)
    seq = Integer()
    action = Varchar(length=32)
    from_status = Varchar(length=16, default="")
    to_status = Varchar(length=16)
    reason = Text(default="")
    rule_breached = Text(default="")
    document_ref = Varchar(length=255, default="")
    actor = ForeignKey(User, on_delete=OnDelete.restrict, null=True, default=None)
    actor_agency = ForeignKey(Agency, on_delete=OnDelete.restrict, null=True, default=None)
    details = JSON(default={})
    at = Timestamptz()


class CardRecovery(Table, tablename="cert_card_recovery"):
    """R-CERT-3: the task that tracks recovering the physical card (收回), handing it to the
    Justice Bureau, and the Bureau's final disposition."""

    id = UUID(primary_key=True)
    certificate = ForeignKey(Certificate, on_delete=OnDelete.restrict, index=True)
    opened_by_event = ForeignKey(CertificateEvent, on_delete=OnDelete.restrict)
    state = Varchar(length=16, default="open")
    recovered_at = Timestamptz(null=True, default=None)
    recovered_by = ForeignKey(User, on_delete=OnDelete.restrict, null=True, default=None)
    handed_over_at = Timestamptz(null=True, default=None)
    handed_over_by = ForeignKey(User, on_delete=OnDelete.restrict, null=True, default=None)
    disposition = Text(default="")
    disposed_at = Timestamptz(null=True, default=None)
    disposed_by = ForeignKey(User, on_delete=OnDelete.restrict, null=True, default=None)
    opened_at = Timestamptz()


class PublicRateCounter(Table, tablename="cert_public_rate"):
    """Fixed-window counters for the public verify endpoint, shared by every API process."""

    id = UUID(primary_key=True)
    bucket = Varchar(length=160, unique=True)
    window_start = Timestamptz(index=True)
    hits = Integer(default=0)


class SigningKeyArchive(Table, tablename="cert_signing_key"):
    """Public keys that ever signed a credential or snapshot: snapshots must stay verifiable
    for years (R-CERT-4), long after the key ring has dropped a retired key from the JWKS."""

    kid = Varchar(length=64, primary_key=True)
    jwk = JSON()
    first_used_at = Timestamptz()


TABLES: list[type[Table]] = [Certificate, CertificateEvent, CardRecovery, PublicRateCounter, SigningKeyArchive]
