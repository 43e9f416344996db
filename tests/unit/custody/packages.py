"""Export packages for verifier tests: a genuine one built by the ledger's own rules, and forgeries.

``build_package`` writes what ``evidence/custody/export.py`` writes (the same ``ledger_line``,
``chain`` hashing and checkpoint message), without a database: an export of one case whose
chain also holds other cases' entries. ``forge`` does to any unpacked package (this one or a
real export) what the issue describes: replace a file, rewrite manifest and ledger, re-sign
the checkpoint with a new key placed in ``public_keys.json``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backend.core.keys import KeyRing, key_id
from backend.ledger import chain
from evidence.custody import verify_export
from evidence.custody.export import VERIFIER, ledger_line

SIGNED_AT = datetime(2026, 3, 1, 8, 30, 0, 123456, tzinfo=UTC)


def new_ring() -> KeyRing:
    key = Ed25519PrivateKey.generate()
    return KeyRing(signing_key=key, public_keys={key_id(key.public_key()): key.public_key()})


def fingerprint(ring: KeyRing) -> str:
    """What ``verify_export.py --key`` takes: SHA-256 of the raw public key, hex."""
    return hashlib.sha256(verify_export._b64url(ring.jwks()["keys"][0]["x"])).hexdigest()


def sign(ring: KeyRing, seq: int, head_hash: str, signed_at: datetime = SIGNED_AT) -> dict[str, Any]:
    """A checkpoint document as the server signs and publishes it."""
    message = chain.checkpoint_message(seq=seq, head_hash=head_hash, signed_at=signed_at, key_id=ring.kid)
    return {
        "seq": seq,
        "head_hash": head_hash,
        "signed_at": chain.format_time(signed_at),
        "key_id": ring.kid,
        "signature": ring.sign_bytes(message),
    }


@dataclass
class Built:
    folder: Path
    ring: KeyRing
    case_id: uuid.UUID
    heads: dict[int, str] = field(default_factory=dict)  # seq → entry_hash, the whole ledger
    paths: list[str] = field(default_factory=list)

    def published(self, seq: int, ring: KeyRing | None = None) -> dict[str, Any]:
        """The checkpoint the agency would have published at ``seq``."""
        return sign(ring or self.ring, seq, self.heads.get(seq, chain.GENESIS_HASH), SIGNED_AT - timedelta(days=1))


def _entry(seq: int, event: str, case_id: uuid.UUID | None, subject_id: str, details: dict[str, Any]) -> chain.Entry:
    return chain.Entry(
        seq=seq,
        recorded_at=SIGNED_AT - timedelta(minutes=10 - seq),
        event=event,
        actor_id=uuid.uuid4(),
        agency_id=uuid.uuid4(),
        subject_type="evidence" if event != "evidence.exported" else "case",
        subject_id=subject_id,
        case_id=case_id,
        action_id=None,
        details=chain.canonical_details(details),
    )


def build_package(folder: Path, ring: KeyRing | None = None, *, with_verifier: bool = False) -> Built:
    """A genuine package: seq 1–2 other cases (outside the package), 3–7 in it (4 and 6 redacted)."""
    built = Built(folder=folder, ring=ring or new_ring(), case_id=uuid.uuid4())
    (folder / "files").mkdir(parents=True)
    items: list[dict[str, Any]] = []
    for number, size in enumerate((3000, 123)):
        evidence_id = str(uuid.uuid4())
        data = bytes([number + 1]) * size
        path = f"files/{evidence_id}.pdf"
        (folder / path).write_bytes(data)
        items.append({"id": evidence_id, "path": path, "size": size, "sha256": hashlib.sha256(data).hexdigest()})
        built.paths.append(path)
    export_id = str(uuid.uuid4())
    manifest = {"format": "fieldproof-export-v1", "export_id": export_id, "case_id": str(built.case_id), "evidence": items}
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    (folder / "manifest.json").write_bytes(manifest_bytes)
    other = uuid.uuid4()
    entries = [
        _entry(1, "case.opened", other, str(other), {}),
        _entry(2, "evidence.viewed", other, "elsewhere", {"purpose": "another case"}),
        _entry(3, "evidence.received", built.case_id, items[0]["id"], {"sha256": items[0]["sha256"], "size": 3000}),
        _entry(4, "evidence.viewed", other, "elsewhere", {"purpose": "另一个案件"}),
        _entry(5, "evidence.received", built.case_id, items[1]["id"], {"sha256": items[1]["sha256"], "size": 123}),
        _entry(6, "evidence.viewed", None, "elsewhere", {"ratio": 0.5}),
        _entry(
            7,
            "evidence.exported",
            built.case_id,
            str(built.case_id),
            {"export_id": export_id, "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest()},
        ),
    ]
    prev, lines = chain.GENESIS_HASH, []
    for entry in entries:
        stored = chain.chained(entry, prev)
        built.heads[entry.seq] = prev = stored.entry_hash
        if entry.seq >= 3:
            lines.append(ledger_line(stored, case_id=built.case_id))
    (folder / "ledger.jsonl").write_bytes(b"".join(lines))
    (folder / "checkpoint.json").write_text(json.dumps(sign(built.ring, 7, prev), indent=2))
    (folder / "public_keys.json").write_text(json.dumps(built.ring.jwks(), indent=2))
    if with_verifier:
        shutil.copy(VERIFIER, folder / "verify_export.py")
    return built


def zip_package(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def forge(folder: Path, *, data: bytes = b"%PDF-1.4 forged", keep_real_key: bool = False) -> KeyRing:
    """Replace the first file, rewrite manifest and ledger, re-sign with a new key; the forger's ring.

    With ``keep_real_key`` the agency's keys stay in ``public_keys.json`` beside the forger's.
    """
    manifest = json.loads((folder / "manifest.json").read_bytes())
    item = manifest["evidence"][0]
    (folder / item["path"]).write_bytes(data)
    old, item["sha256"], item["size"] = item["sha256"], hashlib.sha256(data).hexdigest(), len(data)
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    (folder / "manifest.json").write_bytes(manifest_bytes)
    lines = [json.loads(raw) for raw in (folder / "ledger.jsonl").read_bytes().splitlines() if raw.strip()]
    prev = lines[0]["prev_hash"]
    for line in lines:
        body = line.get("body")
        if body is not None:
            details = body["details"]
            if details.get("sha256") == old:
                details["sha256"] = item["sha256"]
            if details.get("export_id") == manifest["export_id"]:
                details["manifest_sha256"] = hashlib.sha256(manifest_bytes).hexdigest()
                for listed in details.get("evidence", []):
                    listed["sha256"] = item["sha256"] if listed["sha256"] == old else listed["sha256"]
        digest = verify_export.body_hash(body) if body is not None else line["body_hash"]
        line["prev_hash"], line["entry_hash"] = prev, verify_export.chain_hash(prev, digest)
        prev = line["entry_hash"]
    (folder / "ledger.jsonl").write_text("".join(chain.canonical_json(line) + "\n" for line in lines), encoding="utf-8")
    forger = new_ring()
    (folder / "checkpoint.json").write_text(json.dumps(sign(forger, lines[-1]["seq"], prev)))
    keys = json.loads((folder / "public_keys.json").read_bytes())["keys"] if keep_real_key else []
    (folder / "public_keys.json").write_text(json.dumps({"keys": [*keys, *forger.jwks()["keys"]]}))
    return forger
