"""Field workflow tables: cases, stages, officers, actions, check-ins, recusals, recording,
devices, capture manifests and video coverage (R-REC, R-RCS, R-CERT-4/5).

Every row carries the owning agency (directly or through its case) so every query can be
scoped to the caller's agency. Foreign keys are ON DELETE RESTRICT: these are evidentiary.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from backend.org.tables import Agency, Entrustment, User

R = OnDelete.restrict


class Case(Table, tablename="enf_case"):
    """One enforcement matter (R-REC-1); party identity is stored minimised."""

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=R, index=True)
    # R-AGY-3/R-CERT-6: set when the agency acts under an entrustment (in the entruster's name).
    entrustment = ForeignKey(Entrustment, null=True, default=None, on_delete=R)
    acting_agency = ForeignKey(Agency, on_delete=R)
    reference = Varchar(length=64, unique=True)
    kind = Varchar(length=32)
    title = Varchar(length=200)
    matter = Varchar(length=64)
    domain = Varchar(length=64, default="")
    legal_basis = Text()
    party_kind = Varchar(length=16)
    party_name = Varchar(length=200)
    # Never the full identity number: a masked form to show and a salted hash to match.
    party_id_masked = Varchar(length=64, default="")
    party_id_hash = Varchar(length=64, default="", index=True)
    location = Varchar(length=255, default="")
    stage = Varchar(length=32, default="initiation")
    stage_entered_at = Timestamptz()
    archived_at = Timestamptz(null=True, default=None)
    created_by = ForeignKey(User, on_delete=R)
    created_at = Timestamptz()


class CaseOfficer(Table, tablename="enf_case_officer"):
    """An officer assigned to a case: lead (主办) or assisting (协办), and a function (R-DISC-8)."""

    id = UUID(primary_key=True)
    case = ForeignKey(Case, on_delete=R, index=True)
    user = ForeignKey(User, on_delete=R)
    role = Varchar(length=16)
    function = Varchar(length=16, default="investigation")
    # R-RCS-4: a declared or established conflict removes the person from the case.
    removed_at = Timestamptz(null=True, default=None)
    removed_reason = Varchar(length=255, default="")
    assigned_by = ForeignKey(User, on_delete=R)
    assigned_at = Timestamptz()


class CaseStage(Table, tablename="enf_case_stage"):
    """Stage history: one row per stage entered; closed when the case moves on."""

    id = UUID(primary_key=True)
    case = ForeignKey(Case, on_delete=R, index=True)
    stage = Varchar(length=32)
    entered_at = Timestamptz()
    left_at = Timestamptz(null=True, default=None)
    left_by = ForeignKey(User, null=True, default=None, on_delete=R)


class CaseRecord(Table, tablename="enf_case_record"):
    """A record filed in a stage (R-REC-1): a document, or a capture attached to the case."""

    id = UUID(primary_key=True)
    case = ForeignKey(Case, on_delete=R, index=True)
    stage = Varchar(length=32)
    kind = Varchar(length=16)
    title = Varchar(length=200)
    evidence_id = UUID(null=True, default=None)
    created_by = ForeignKey(User, on_delete=R)
    created_at = Timestamptz()


class Action(Table, tablename="enf_action"):
    """One on-site enforcement act: planned → in_progress → ended → closed."""

    id = UUID(primary_key=True)
    case = ForeignKey(Case, on_delete=R, index=True)
    agency = ForeignKey(Agency, on_delete=R, index=True)
    kind = Varchar(length=32)
    title = Varchar(length=200, default="")
    planned_at = Timestamptz()
    planned_place = Varchar(length=255, default="")
    state = Varchar(length=16, default="planned")
    # R-REC-2: seizures, impounds and demolitions must be recorded end to end.
    requires_av = Boolean(default=False)
    # R-DISC-6: why non-coercive or less harmful means cannot achieve the purpose.
    coercion_reason = Text(default="")
    started_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    created_by = ForeignKey(User, on_delete=R)
    created_at = Timestamptz()


class ActionTransition(Table, tablename="enf_action_transition"):
    """Each state change with server time, device time and GPS (two clocks, never merged)."""

    id = UUID(primary_key=True)
    action = ForeignKey(Action, on_delete=R, index=True)
    from_state = Varchar(length=16)
    to_state = Varchar(length=16)
    server_time = Timestamptz()
    device_time = Timestamptz(null=True, default=None)
    skew_s = Float(null=True, default=None)
    skew_flagged = Boolean(default=False)
    latitude = Float(null=True, default=None)
    longitude = Float(null=True, default=None)
    accuracy_m = Float(null=True, default=None)
    by_user = ForeignKey(User, on_delete=R)


class ActionParticipant(Table, tablename="enf_action_participant"):
    id = UUID(primary_key=True)
    action = ForeignKey(Action, on_delete=R, index=True)
    user = ForeignKey(User, on_delete=R)
    removed_at = Timestamptz(null=True, default=None)
    removed_reason = Varchar(length=255, default="")
    added_at = Timestamptz()


class CheckIn(Table, tablename="enf_check_in"):
    """R-CERT-4: certificate verified at check-in; the signed snapshot is kept with it."""

    id = UUID(primary_key=True)
    action = ForeignKey(Action, on_delete=R, index=True)
    user = ForeignKey(User, on_delete=R)
    device_id = Varchar(length=64)
    allowed = Boolean()
    reason = Varchar(length=64, default="")
    certificate_id = UUID(null=True, default=None)
    snapshot = Text(default="")
    snapshot_token = Text(default="")
    server_time = Timestamptz()
    device_time = Timestamptz()
    skew_s = Float()
    skew_flagged = Boolean(default=False)
    latitude = Float()
    longitude = Float()
    accuracy_m = Float()


class RecusalDeclaration(Table, tablename="enf_recusal_declaration"):
    """R-RCS-1..3: immutable; no conflict, or a conflict on one of the three grounds."""

    id = UUID(primary_key=True)
    case = ForeignKey(Case, on_delete=R, index=True)
    action = ForeignKey(Action, null=True, default=None, on_delete=R, index=True)
    user = ForeignKey(User, on_delete=R)
    conflict = Boolean()
    ground = Varchar(length=32, default="")
    statement = Text(default="")
    server_time = Timestamptz()
    device_time = Timestamptz(null=True, default=None)


class RecusalRequest(Table, tablename="enf_recusal_request"):
    """R-RCS-4: anyone (incl. the party) may raise a ground; decided with reasons."""

    id = UUID(primary_key=True)
    case = ForeignKey(Case, on_delete=R, index=True)
    target_user = ForeignKey(User, on_delete=R)
    raised_by_kind = Varchar(length=16)
    raised_by_name = Varchar(length=200)
    ground = Varchar(length=32)
    reasons = Text()
    status = Varchar(length=16, default="pending")
    decided_by = ForeignKey(User, null=True, default=None, on_delete=R)
    decision_reasons = Text(default="")
    decided_at = Timestamptz(null=True, default=None)
    recorded_by = ForeignKey(User, on_delete=R)
    created_at = Timestamptz()


class RecordingSession(Table, tablename="enf_recording_session"):
    """R-REC-3: an open session from a participant's device before a mandatory-AV start."""

    id = UUID(primary_key=True)
    action = ForeignKey(Action, on_delete=R, index=True)
    user = ForeignKey(User, on_delete=R)
    device_id = Varchar(length=64)
    opened_at = Timestamptz()
    opened_device_time = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    closed_device_time = Timestamptz(null=True, default=None)
    # Set when the device stopped without a clean close (e.g. broken phone).
    flag = Varchar(length=64, default="")


class Device(Table, tablename="enf_device"):
    """A phone's Ed25519 key for signed capture manifests; an admin may revoke it."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=R, index=True)
    agency = ForeignKey(Agency, on_delete=R, index=True)
    device_label = Varchar(length=100, default="")
    public_key = Varchar(length=64)
    registered_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = ForeignKey(User, null=True, default=None, on_delete=R)


class CaptureManifest(Table, tablename="enf_capture_manifest"):
    """R-REC-5: the device's list of captures (hash, size, time), signed with its key."""

    id = UUID(primary_key=True)
    action = ForeignKey(Action, on_delete=R, index=True)
    device = ForeignKey(Device, on_delete=R)
    user = ForeignKey(User, on_delete=R)
    body = Text()
    signature = Varchar(length=128)
    server_time = Timestamptz()
    device_time = Timestamptz()
    skew_s = Float()
    skew_flagged = Boolean(default=False)


class ManifestEntry(Table, tablename="enf_manifest_entry"):
    id = UUID(primary_key=True)
    manifest = ForeignKey(CaptureManifest, on_delete=R, index=True)
    action = ForeignKey(Action, on_delete=R, index=True)
    file_name = Varchar(length=255)
    sha256 = Varchar(length=64, index=True)
    size = Integer()
    media_type = Varchar(length=100, default="")
    captured_at = Timestamptz()


class CoverageGapReason(Table, tablename="enf_coverage_gap_reason"):
    """R-REC-4: a recorded reason for an `av_gap`, approved by a supervisor before close."""

    id = UUID(primary_key=True)
    action = ForeignKey(Action, on_delete=R, index=True)
    gap_start = Timestamptz()
    gap_end = Timestamptz()
    reason = Text()
    recorded_by = ForeignKey(User, on_delete=R)
    recorded_at = Timestamptz()
    approved_by = ForeignKey(User, null=True, default=None, on_delete=R)
    approved_at = Timestamptz(null=True, default=None)


class CoverageReport(Table, tablename="enf_coverage_report"):
    """R-REC-4: each computed coverage report is stored (the last one is current)."""

    id = UUID(primary_key=True)
    action = ForeignKey(Action, on_delete=R, index=True)
    computed_at = Timestamptz()
    complete = Boolean()
    report = JSON()


class ExecutionBasis(Table, tablename="enf_execution_basis"):
    """What a coercive act needs of the decision behind it: issued, served, its periods.

    Written only by the decisions room (``backend.field.execution_basis.record``) when an
    issued decision's service is recorded; read by planning and the start gate of a forced
    demolition (行政强制法 Art.44). The decision is named by plain id: this room never
    imports the decisions room.
    """

    id = UUID(primary_key=True)
    case = ForeignKey(Case, on_delete=R, index=True)
    decision_id = UUID(unique=True)
    decision_no = Varchar(length=100)
    issued_at = Timestamptz()
    served_at = Timestamptz()
    service_method = Varchar(length=32)
    recipient = Varchar(length=200)
    proof_evidence_id = UUID()
    announcement_ref = Varchar(length=200, default="")
    # The party's own deadline (the announced period to comply, e.g. to remove the building).
    compliance_deadline = Timestamptz()
    # The end of the periods to apply for reconsideration and to sue (national law).
    remedy_period_end = Timestamptz()
    recorded_by = ForeignKey(User, on_delete=R)
    recorded_at = Timestamptz()


class CertificateShown(Table, tablename="enf_certificate_shown"):
    """R-CERT-5: the officer wore or showed the certificate on this action (the one verified at
    their check-in), when, and optionally a photo or video of it."""

    id = UUID(primary_key=True)
    action = ForeignKey(Action, on_delete=R, index=True)
    user = ForeignKey(User, on_delete=R)
    check_in = ForeignKey(CheckIn, on_delete=R)
    server_time = Timestamptz()
    device_time = Timestamptz()
    evidence_id = UUID(null=True, default=None)


class CertificateExemption(Table, tablename="enf_certificate_exemption"):
    """R-CERT-5 "另有规定的除外": an action kind of the agency exempt from showing, with its legal citation."""

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=R, index=True)
    action_kind = Varchar(length=32)
    legal_citation = Text()
    recorded_by = ForeignKey(User, on_delete=R)
    recorded_at = Timestamptz()


TABLES: list[type[Table]] = [
    Case,
    CaseOfficer,
    CaseStage,
    CaseRecord,
    Action,
    ActionTransition,
    ActionParticipant,
    CheckIn,
    RecusalDeclaration,
    RecusalRequest,
    RecordingSession,
    Device,
    CaptureManifest,
    ManifestEntry,
    CoverageGapReason,
    CoverageReport,
    ExecutionBasis,
    CertificateShown,
    CertificateExemption,
]
