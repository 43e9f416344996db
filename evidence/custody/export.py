"""Court-verifiable export packages (R-REC-6, R-REC-7): a streamed ZIP for a case.

Contents: ``files/`` (the original bytes), ``manifest.json`` (case context, every file's
SHA-256/size/metadata), ``ledger.jsonl`` (the chain from the case's first entry to a
signed checkpoint; other cases' entries appear only as hashes), ``checkpoint.json``,
``public_keys.json``, ``verify_export.py`` and ``README.txt``. The export is ledgered, with
the SHA-256 of the manifest, *before* the first byte leaves; the checkpoint is signed after
that entry, so the package proves its own manifest.

Nothing inside a package can prove who made it: whoever rewrites files, manifest and ledger
can sign a new checkpoint with a key of their own and put it in ``public_keys.json``. So the
README tells the court to take the agency's key and a published checkpoint from the agency
(``/public/v1/keys``, ``/public/v1/ledger/checkpoints/<seq>``, ``backend/api/public.py``) and
to hand them to the verifier, which answers UNVERIFIED without them (R-REC-7).

The ZIP is written by ``zipfile`` into a non-seekable sink (data descriptors, ZIP64) and
drained after every block: memory stays bounded whatever the size of the case.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.core.keys import KeyRing
from backend.core.rows import fetch_all
from backend.ledger import chain
from backend.ledger.chain import StoredEntry
from backend.ledger.checkpoint import make_checkpoint
from backend.ledger.schemas import CheckpointOut
from backend.ledger.service import append_event
from backend.ledger.tables import LedgerRow
from evidence import records
from evidence.custody.retrieval import REVIEW_ROLES
from evidence.schemas import EvidenceOut
from evidence.store import ObjectStore

VERIFIER = Path(__file__).with_name("verify_export.py")
FORMAT = "fieldproof-export-v1"
_BATCH = 2000
_MEDIA_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic", "video/mp4": ".mp4", "audio/mp4": ".m4a"}

README = """Fieldproof evidence export {export_id} (case {case_id})

manifest.json lists the files; ledger.jsonl is the custody chain (seq {first_seq} to {seq}),
ending at checkpoint.json, signed at {signed_at} with the agency's key id {key_id}.
Entries of other cases appear only as hashes.

How to verify it. Nothing inside this package can prove who made it: anyone who changes
a file can rewrite the manifest and the ledger and sign them with a key of their own. So
take the key and a checkpoint from the agency, NOT from this package:

1. The agency's key. From the agency's Fieldproof server (its address as the agency
   publishes it, not as written anywhere in this package), save
       GET /public/v1/keys                      as keys.json
   or take the key fingerprint the agency publishes: the SHA-256 of the raw 32-byte Ed25519
   public key, 64 hex digits ('python verify_export.py --fingerprints keys.json' prints it).
   A key the server has since retired may be listed by GET /public/v1/keys/archive.
   Never use public_keys.json from this package as the trusted key.

2. A published checkpoint. Save
       GET /public/v1/ledger/checkpoints/{seq}     as checkpoint.json (outside this package)
   The server publishes every checkpoint (GET /public/v1/ledger/checkpoints?after_seq=N,
   GET /public/v1/ledger/checkpoints/latest); one kept earlier by you or anyone else, at a
   seq from {first_seq_before} to {seq}, holds the agency to what its ledger said then.

3. The verifier. verify_export.py in this package could have been swapped too: compare it
   with, or use instead, a copy obtained independently (GET /public/v1/ledger/verifier, or
   the Fieldproof source). The bundled copy's SHA-256 is {verifier_sha256}.

4. Run (Python 3.11+ and the 'cryptography' package):
       python verify_export.py --jwks keys.json --checkpoint checkpoint.json <this .zip or its folder>
   or  python verify_export.py --key <fingerprint> --checkpoint checkpoint.json <this .zip or its folder>

   OK (exit 0): every file, the chain, the manifest and the checkpoint hold under the agency's
   key, and the chain passes through the published checkpoint; the trusted fingerprint is
   printed. FAILED (exit 1): each problem on its own line. UNVERIFIED (exit 3): consistent,
   but no trusted key was given, or no given checkpoint lies within this chain.
"""


class ExportPlan(msgspec.Struct, frozen=True, kw_only=True):
    export_id: UUID
    case_id: UUID
    manifest: bytes
    evidence: list[EvidenceOut]
    checkpoint: CheckpointOut
    first_seq: int

    @property
    def filename(self) -> str:
        return f"case-{self.case_id}-export-{self.export_id.hex[:8]}.zip"


def file_path(item: EvidenceOut) -> str:
    return f"files/{item.id}{_MEDIA_EXT.get(item.media_type, '')}"


def _file_entry(item: EvidenceOut) -> dict[str, Any]:
    entry = msgspec.to_builtins(item)
    entry["path"] = file_path(item)
    return dict(entry)


def build_manifest(
    *,
    export_id: UUID,
    principal: Principal,
    case_id: UUID,
    purpose: str,
    items: Sequence[EvidenceOut],
    case_context: Mapping[str, Any],
) -> bytes:
    manifest = {
        "format": FORMAT,
        "export_id": str(export_id),
        "generated_at": chain.format_time(clock.now()),
        "exported_by": {"user_id": str(principal.user_id), "username": principal.username, "agency_id": str(principal.agency_id)},
        "purpose": purpose,
        "case_id": str(case_id),
        "case": msgspec.to_builtins(dict(case_context)),
        "evidence": [_file_entry(item) for item in items],
    }
    return json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


async def _select(*, principal: Principal, case_id: UUID, evidence_ids: Sequence[UUID] | None) -> list[EvidenceOut]:
    items = await records.list_for_case(agency_id=principal.agency_id, case_id=case_id)
    if evidence_ids is None:
        return items
    by_id = {item.id: item for item in items}
    missing = [str(i) for i in evidence_ids if i not in by_id]
    if missing:
        raise NotFound(f"evidence not in this case: {', '.join(missing)}")
    return [by_id[i] for i in dict.fromkeys(evidence_ids)]


async def prepare_export(
    *,
    principal: Principal,
    case_id: UUID,
    purpose: str,
    keys: KeyRing,
    case_context: Mapping[str, Any],
    evidence_ids: Sequence[UUID] | None = None,
) -> ExportPlan:
    """Select, write the manifest, ledger the export, sign a checkpoint covering it.

    The caller has established that the case belongs to the principal's agency (404 otherwise).
    """
    if not principal.has(*REVIEW_ROLES):
        raise NotFound(f"case {case_id} not found")
    items = await _select(principal=principal, case_id=case_id, evidence_ids=evidence_ids)
    export_id = uuid.uuid4()
    manifest = build_manifest(
        export_id=export_id, principal=principal, case_id=case_id, purpose=purpose, items=items, case_context=case_context
    )
    await append_event(
        event="evidence.exported",
        actor_id=principal.user_id,
        agency_id=principal.agency_id,
        subject_type="case",
        subject_id=str(case_id),
        case_id=case_id,
        details={
            "export_id": str(export_id),
            "purpose": purpose,
            "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
            "evidence": [{"id": str(i.id), "sha256": i.sha256} for i in items],
        },
    )
    checkpoint = await make_checkpoint(keys=keys)
    first = await LedgerRow.select(LedgerRow.seq).where(LedgerRow.case_id == case_id).order_by(LedgerRow.seq).first()
    assert first is not None  # the export entry itself belongs to the case
    return ExportPlan(
        export_id=export_id,
        case_id=case_id,
        manifest=manifest,
        evidence=items,
        checkpoint=checkpoint,
        first_seq=int(first["seq"]),
    )


def ledger_line(entry: StoredEntry, *, case_id: UUID) -> bytes:
    """A full entry of this case, or a redacted one (hashes only) of any other case."""
    body = chain.entry_body(entry)
    line: dict[str, Any] = {"seq": entry.seq, "prev_hash": entry.prev_hash, "entry_hash": entry.entry_hash}
    if entry.case_id == case_id:
        line["body"] = body
    else:
        line.update(redacted=True, body_hash=chain.body_hash(body))
    return (chain.canonical_json(line) + "\n").encode("utf-8")


class _Sink(io.RawIOBase):
    """Write-only, non-seekable buffer the ZIP writer fills and the response drains."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        self._position += len(view)
        return len(view)

    def tell(self) -> int:
        return self._position

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def readme(plan: ExportPlan) -> bytes:
    """The package's README.txt: how a court verifies it without trusting the package (R-REC-7)."""
    cp = plan.checkpoint
    return README.format(
        export_id=plan.export_id,
        case_id=plan.case_id,
        first_seq=plan.first_seq,
        first_seq_before=plan.first_seq - 1,
        seq=cp.seq,
        signed_at=chain.format_time(cp.signed_at),
        key_id=cp.key_id,
        verifier_sha256=hashlib.sha256(VERIFIER.read_bytes()).hexdigest(),
    ).encode("utf-8")


def checkpoint_json(checkpoint: CheckpointOut) -> bytes:
    """The checkpoint with its time in exactly the form the signature covers."""
    document = msgspec.to_builtins(checkpoint)
    document["signed_at"] = chain.format_time(checkpoint.signed_at)
    return json.dumps(document, indent=2).encode("utf-8")


def _info(name: str, *, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=clock.now().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


async def _ledger_entries(plan: ExportPlan) -> AsyncIterator[StoredEntry]:
    last = plan.first_seq - 1
    while last < plan.checkpoint.seq:
        entries = await fetch_all(
            StoredEntry,
            LedgerRow.select()
            .where((LedgerRow.seq > last) & (LedgerRow.seq <= plan.checkpoint.seq))
            .order_by(LedgerRow.seq)
            .limit(_BATCH),
        )
        if not entries:
            return
        for entry in entries:
            yield entry
        last = entries[-1].seq


async def stream_export(*, store: ObjectStore, plan: ExportPlan, keys: KeyRing) -> AsyncIterator[bytes]:
    """The ZIP bytes, block by block."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", allowZip64=True) as archive:
        small = {
            "README.txt": readme(plan),
            "manifest.json": plan.manifest,
            "checkpoint.json": checkpoint_json(plan.checkpoint),
            "public_keys.json": json.dumps(keys.jwks(), indent=2).encode("utf-8"),
            "verify_export.py": VERIFIER.read_bytes(),
        }
        for name, data in small.items():
            archive.writestr(_info(name, compress=True), data)
            yield sink.take()
        with archive.open(_info("ledger.jsonl", compress=True), mode="w", force_zip64=True) as handle:
            async for entry in _ledger_entries(plan):
                handle.write(ledger_line(entry, case_id=plan.case_id))
                if sink.pending >= 256 * 1024:
                    yield sink.take()
        yield sink.take()
        for item in plan.evidence:
            with archive.open(_info(file_path(item), compress=False), mode="w", force_zip64=True) as handle:
                async for block in store.read(item.object_key):
                    handle.write(block)
                    yield sink.take()
            yield sink.take()
    yield sink.take()
