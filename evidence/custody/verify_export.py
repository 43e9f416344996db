#!/usr/bin/env python3
"""Verify a Fieldproof evidence export package without trusting the server that made it.

Usage:  python verify_export.py [PACKAGE]      (PACKAGE: the .zip or its unpacked folder;
                                                default: the folder holding this script)

Needs only the Python standard library, plus the ``cryptography`` package for the
Ed25519 checkpoint signature. Prints ``OK`` and exits 0 when everything holds; otherwise
prints every failure, one per line, and exits 1. Checks:

1. every file listed in manifest.json is present with the listed size and SHA-256;
2. ledger.jsonl is one unbroken hash chain: for each full entry
   entry_hash = SHA-256(prev_hash ‖ SHA-256(canonical JSON of the entry body)),
   for each redacted entry (another case's event) the same with its given body_hash,
   sequence numbers consecutive, each prev_hash equal to the previous entry_hash;
3. the chain ends exactly at the head signed in checkpoint.json, and the signature
   verifies with the matching key in public_keys.json;
4. the ledger holds this export's own entry naming the SHA-256 of manifest.json, and
   every evidence file's hash as the ledger recorded it at reception.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GENESIS_HASH = "0" * 64
CHECKPOINT_CONTEXT = "fieldproof-ledger-checkpoint-v1"
BLOCK = 1024 * 1024


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, body_digest: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(body_digest)).hexdigest()


class Package:
    """Read members from a zip file or an unpacked folder alike."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path) if path.is_file() else None
        self.root = path

    def exists(self, name: str) -> bool:
        if self.zip is not None:
            return name in self.zip.namelist()
        return (self.root / name).is_file()

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(name)
        return (self.root / name).read_bytes()

    def blocks(self, name: str) -> Iterator[bytes]:
        handle = self.zip.open(name) if self.zip is not None else (self.root / name).open("rb")
        with handle:
            while block := handle.read(BLOCK):
                yield block

    def lines(self, name: str) -> Iterator[bytes]:
        handle = self.zip.open(name) if self.zip is not None else (self.root / name).open("rb")
        with handle:
            yield from handle


def check_files(package: Package, manifest: dict[str, Any]) -> list[str]:
    failures = []
    for item in manifest.get("evidence", []):
        name = item["path"]
        if not package.exists(name):
            failures.append(f"{name}: missing from the package")
            continue
        digest, size = hashlib.sha256(), 0
        for block in package.blocks(name):
            digest.update(block)
            size += len(block)
        if size != item["size"]:
            failures.append(f"{name}: size {size} bytes, manifest says {item['size']}")
        if digest.hexdigest() != item["sha256"]:
            failures.append(f"{name}: SHA-256 {digest.hexdigest()} does not match the manifest's {item['sha256']}")
    return failures


def check_entry(entry: dict[str, Any], expected_seq: int | None, prev_hash: str | None) -> str | None:
    seq = entry.get("seq")
    if expected_seq is not None and seq != expected_seq:
        return f"ledger entry seq {seq}: expected seq {expected_seq} (entries missing or reordered)"
    if prev_hash is not None and entry.get("prev_hash") != prev_hash:
        return f"ledger entry seq {seq}: prev_hash does not match the entry before it"
    digest = entry["body_hash"] if entry.get("redacted") else body_hash(entry["body"])
    if not entry.get("redacted") and entry["body"].get("seq") != seq:
        return f"ledger entry seq {seq}: body carries seq {entry['body'].get('seq')}"
    if chain_hash(entry["prev_hash"], digest) != entry.get("entry_hash"):
        return f"ledger entry seq {seq}: entry_hash does not match its content (the entry was changed)"
    return None


def check_ledger(package: Package) -> tuple[list[str], list[dict[str, Any]], tuple[int, str] | None]:
    """(failures, full entries, (last seq, last hash))."""
    failures: list[str] = []
    entries: list[dict[str, Any]] = []
    expected_seq: int | None = None
    prev_hash: str | None = None
    last: tuple[int, str] | None = None
    for number, raw in enumerate(package.lines("ledger.jsonl"), start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            failures.append(f"ledger.jsonl line {number}: not valid JSON")
            return failures, entries, None
        problem = check_entry(entry, expected_seq, prev_hash)
        if problem:
            failures.append(problem)
            return failures, entries, None
        if not entry.get("redacted"):
            entries.append(entry["body"])
        expected_seq, prev_hash = entry["seq"] + 1, entry["entry_hash"]
        last = (entry["seq"], entry["entry_hash"])
    return failures, entries, last


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_signature(checkpoint: dict[str, Any], keys: dict[str, Any]) -> str | None:
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return "checkpoint signature not checked: install the 'cryptography' package"
    jwk = next((k for k in keys.get("keys", []) if k.get("kid") == checkpoint["key_id"]), None)
    if jwk is None:
        return f"checkpoint: signing key {checkpoint['key_id']} is not in public_keys.json"
    message = canonical_json(
        {
            "context": CHECKPOINT_CONTEXT,
            "seq": checkpoint["seq"],
            "head_hash": checkpoint["head_hash"],
            "signed_at": checkpoint["signed_at"],
            "key_id": checkpoint["key_id"],
        }
    ).encode("utf-8")
    try:
        Ed25519PublicKey.from_public_bytes(_b64url(jwk["x"])).verify(_b64url(checkpoint["signature"]), message)
    except (InvalidSignature, ValueError):
        return f"checkpoint at seq {checkpoint['seq']}: signature does not verify with key {checkpoint['key_id']}"
    return None


def check_checkpoint(checkpoint: dict[str, Any], keys: dict[str, Any], last: tuple[int, str] | None) -> list[str]:
    failures = []
    if last is None or last != (checkpoint["seq"], checkpoint["head_hash"]):
        failures.append(
            f"ledger.jsonl does not end at the signed checkpoint (seq {checkpoint['seq']}, head {checkpoint['head_hash']})"
        )
    problem = check_signature(checkpoint, keys)
    if problem:
        failures.append(problem)
    return failures


def check_bindings(manifest_bytes: bytes, manifest: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    failures = []
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    exports = [
        e for e in entries if e["event"] == "evidence.exported" and e["details"].get("export_id") == manifest.get("export_id")
    ]
    if not exports:
        failures.append(f"ledger has no entry for export {manifest.get('export_id')}")
    elif exports[0]["details"].get("manifest_sha256") != manifest_sha:
        failures.append(f"manifest.json: SHA-256 {manifest_sha} differs from the one recorded in the ledger (manifest changed)")
    received = {e["subject_id"]: e["details"].get("sha256") for e in entries if e["event"] == "evidence.received"}
    for item in manifest.get("evidence", []):
        recorded = received.get(item["id"])
        if recorded is not None and recorded != item["sha256"]:
            failures.append(
                f"{item['path']}: the ledger recorded SHA-256 {recorded} at reception, manifest says {item['sha256']}"
            )
    return failures


def verify(path: Path) -> list[str]:
    package = Package(path)
    for name in ("manifest.json", "ledger.jsonl", "checkpoint.json", "public_keys.json"):
        if not package.exists(name):
            return [f"{name}: missing from the package"]
    manifest_bytes = package.read("manifest.json")
    manifest = json.loads(manifest_bytes)
    failures = check_files(package, manifest)
    ledger_failures, entries, last = check_ledger(package)
    failures += ledger_failures
    checkpoint = json.loads(package.read("checkpoint.json"))
    keys = json.loads(package.read("public_keys.json"))
    if ledger_failures:  # the chain is already broken: only say whether the signature itself holds
        problem = check_signature(checkpoint, keys)
        failures += [problem] if problem else []
    else:
        failures += check_checkpoint(checkpoint, keys, last)
    failures += check_bindings(manifest_bytes, manifest, entries)
    return failures


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    failures = verify(target)
    if failures:
        print("FAILED")  # noqa: T201
        for failure in failures:
            print(f"  - {failure}")  # noqa: T201
        return 1
    print("OK: files, ledger chain, signed checkpoint and manifest binding verified")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
