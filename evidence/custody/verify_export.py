#!/usr/bin/env python3
"""Verify a Fieldproof evidence export package without trusting the server that made it, or the package.

    python verify_export.py [PACKAGE] (--key FINGERPRINT | --jwks FILE) [--checkpoint FILE]
    python verify_export.py --fingerprints JWKS_FILE

PACKAGE: the .zip or its folder (default: this script's folder). Standard library plus the
``cryptography`` package. A package's own public_keys.json proves nothing: whoever rewrites
files, manifest and ledger can sign a new checkpoint with a key of their own and put it there
(R-REC-7). So the agency's key is an argument: ``--key``, the SHA-256 of the raw 32-byte
Ed25519 public key in hex (repeatable), or ``--jwks``, the agency's ``GET /public/v1/keys``.
``--checkpoint`` (repeatable): a checkpoint the agency published (``GET
/public/v1/ledger/checkpoints/<seq>``, or a page of them); the chain must pass through it.

First line: ``OK`` (exit 0), ``FAILED`` (exit 1, then every failure), ``UNVERIFIED`` (exit 3:
consistent, but the key came only from the package, or no given checkpoint lies within the
chain); exit 2 is a command-line mistake. Checks: (1) every file of manifest.json is inside the
package (no ``..``, absolute path or symbolic link) with its size and SHA-256; (2) ledger.jsonl
is one chain, entry_hash = SHA-256(prev_hash ‖ SHA-256(canonical JSON of the body)) (redacted
entries of other cases give their body_hash), seqs consecutive; (3) it ends at the head of
checkpoint.json, signed by a trusted key; (4) the ledger records this export with the SHA-256
of manifest.json, and each file's hash at reception; (5) it passes through each published
checkpoint given that lies within it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import stat
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

GENESIS_HASH = "0" * 64
CHECKPOINT_CONTEXT = "fieldproof-ledger-checkpoint-v1"
BLOCK = 1024 * 1024
CORE = ("manifest.json", "ledger.jsonl", "checkpoint.json", "public_keys.json")
EXIT_OK, EXIT_FAILED, EXIT_UNVERIFIED = 0, 1, 3
_HEX = frozenset("0123456789abcdef")


class Malformed(ValueError):
    """The package (or a file given to us) is not in the form the format says: one FAILED line."""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, body_digest: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(body_digest)).hexdigest()


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Malformed(f"number {text[:40]} is outside the double range")
    return value


def _no_constant(name: str) -> Any:
    raise Malformed(f"{name} is not a JSON value")


def parse_json(data: bytes, what: str) -> Any:
    """JSON as the format allows it: finite numbers only; any other failure is ``Malformed``."""
    try:
        return json.loads(data, parse_float=_finite, parse_constant=_no_constant)
    except Malformed as exc:
        raise Malformed(f"{what}: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"{what}: not valid JSON ({str(exc)[:120]})") from None


def field(obj: Any, key: str, kind: type, what: str) -> Any:
    """``obj[key]`` when obj is an object and the value has the type; otherwise ``Malformed``."""
    if not isinstance(obj, dict):
        raise Malformed(f"{what}: not a JSON object")
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Malformed(f"{what}: '{key}' is missing or not {kind.__name__}")
    return value


def hex64(obj: Any, key: str, what: str) -> str:
    value: str = field(obj, key, str, what)
    if len(value) != 64 or not set(value) <= _HEX:
        raise Malformed(f"{what}: '{key}' is not 64 lowercase hex digits")
    return value


def safe_member(name: Any) -> tuple[str, ...]:
    """The parts of a path inside the package, or ``Malformed`` for one that could leave it."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name or name.startswith("/"):
        raise Malformed(f"{name!r}: not a relative path inside the package; not read")
    parts = tuple(name.split("/"))
    if any(part in ("", ".", "..") or ":" in part for part in parts):
        raise Malformed(f"{name}: path leaves the package or is not plain; not read")
    return parts


class Package:
    """Members of a zip file or an unpacked folder alike, never anything outside them."""

    def __init__(self, path: Path) -> None:
        self.zip: zipfile.ZipFile | None = None
        if path.is_dir():
            self.root = path.resolve()
        elif path.is_file():
            try:
                self.zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise Malformed(f"{path}: not a readable zip file ({exc})") from None
            self.infos = {info.filename: info for info in self.zip.infolist()}
        else:
            raise Malformed(f"{path}: no such file or folder")

    def _path(self, name: str) -> Path:
        current = self.root
        for part in safe_member(name):
            current = current / part
            if current.is_symlink():
                raise Malformed(f"{name}: a symbolic link in the package; not followed")
        if not current.resolve().is_relative_to(self.root):
            raise Malformed(f"{name}: path leaves the package; not read")
        return current

    def exists(self, name: str) -> bool:
        if self.zip is not None:
            info = self.infos.get("/".join(safe_member(name)))
            if info is not None and stat.S_ISLNK(info.external_attr >> 16):
                raise Malformed(f"{name}: a symbolic link in the package; not followed")
            return info is not None and not info.is_dir()
        return self._path(name).is_file()

    def open(self, name: str) -> IO[bytes]:
        if self.zip is not None:
            return self.zip.open(name)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        return os.fdopen(os.open(self._path(name), flags), "rb")

    def read(self, name: str) -> bytes:
        with self.open(name) as handle:
            return handle.read()

    def lines(self, name: str) -> Iterator[bytes]:
        with self.open(name) as handle:
            yield from handle


def check_files(package: Package, items: list[dict[str, Any]]) -> list[str]:
    failures = []
    for item in items:
        name = item["path"]
        try:
            present = package.exists(name)
        except Malformed as exc:
            failures.append(str(exc))
            continue
        if not present:
            failures.append(f"{name}: missing from the package")
            continue
        digest, size = hashlib.sha256(), 0
        with package.open(name) as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
                size += len(block)
        if size != item["size"]:
            failures.append(f"{name}: size {size} bytes, manifest says {item['size']}")
        if digest.hexdigest() != item["sha256"]:
            failures.append(f"{name}: SHA-256 {digest.hexdigest()} does not match the manifest's {item['sha256']}")
    return failures


def _check_entry(entry: Any, expected_seq: int | None, prev_hash: str | None) -> str | None:
    seq = field(entry, "seq", int, "entry")
    if expected_seq is not None and seq != expected_seq:
        return f"ledger entry seq {seq}: expected seq {expected_seq} (entries missing or reordered)"
    if prev_hash is not None and entry.get("prev_hash") != prev_hash:
        return f"ledger entry seq {seq}: prev_hash does not match the entry before it"
    previous, recorded = hex64(entry, "prev_hash", "entry"), hex64(entry, "entry_hash", "entry")
    if entry.get("redacted") is True:
        digest = hex64(entry, "body_hash", "redacted entry")
    else:
        body = field(entry, "body", dict, "entry")
        if body.get("seq") != seq:
            return f"ledger entry seq {seq}: body carries seq {body.get('seq')}"
        digest = body_hash(body)
    if chain_hash(previous, digest) != recorded:
        return f"ledger entry seq {seq}: entry_hash does not match its content (the entry was changed)"
    return None


def check_entry(entry: Any, expected_seq: int | None, prev_hash: str | None) -> str | None:
    """Why this ledger line breaks the chain, or None; never raises on a malformed line."""
    try:
        return _check_entry(entry, expected_seq, prev_hash)
    except ValueError as exc:  # Malformed, or a float canonical JSON cannot write
        seq = entry.get("seq") if isinstance(entry, dict) else None
        return f"ledger entry seq {seq}: malformed ({exc})"


class Chain:
    """What the ledger pass learned: full entries, first and last link, hashes at chosen seqs."""

    def __init__(self) -> None:
        self.at: dict[int, str] = {}  # entry_hash at the seqs of published checkpoints
        self.entries: list[dict[str, Any]] = []
        self.first: tuple[int, str] | None = None  # (seq, prev_hash) of the first entry
        self.last: tuple[int, str] | None = None  # (seq, entry_hash) of the last entry


def check_ledger(package: Package, watch: set[int]) -> tuple[list[str], Chain]:
    found = Chain()
    expected_seq: int | None = None
    for number, raw in enumerate(package.lines("ledger.jsonl"), start=1):
        if not raw.strip():
            continue
        try:
            entry = parse_json(raw, f"ledger.jsonl line {number}")
        except Malformed as exc:
            return [str(exc)], found
        problem = check_entry(entry, expected_seq, found.last[1] if found.last else None)
        if problem:
            return [problem], found
        if found.first is None:
            found.first = (entry["seq"], entry["prev_hash"])
        if entry.get("redacted") is not True:
            found.entries.append(entry["body"])
        if entry["seq"] in watch:
            found.at[entry["seq"]] = entry["entry_hash"]
        expected_seq, found.last = entry["seq"] + 1, (entry["seq"], entry["entry_hash"])
    return [], found


def _b64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""


def fingerprint(raw: bytes) -> str:
    """SHA-256 of the raw 32-byte Ed25519 public key, lowercase hex: what ``--key`` takes."""
    return hashlib.sha256(raw).hexdigest()


def key_id(raw: bytes) -> str:
    """The server's key id: the first 16 base64url characters of the same SHA-256."""
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).rstrip(b"=").decode("ascii")[:16]


def jwks_keys(document: Any, what: str) -> dict[str, bytes]:
    """{fingerprint: raw key} of every Ed25519 key of a JWKS document."""
    keys = field(document, "keys", list, what)
    found = {}
    for jwk in keys:
        if isinstance(jwk, dict) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and isinstance(jwk.get("x"), str):
            raw = _b64url(jwk["x"])
            if len(raw) == 32:
                found[fingerprint(raw)] = raw
    return found


def read_checkpoint(document: Any, what: str) -> dict[str, Any]:
    for key in ("signed_at", "key_id", "signature"):
        field(document, key, str, what)
    if field(document, "seq", int, what) < 0:
        raise Malformed(f"{what}: 'seq' is negative")
    hex64(document, "head_hash", what)
    return dict(document)


def signature_holds(checkpoint: dict[str, Any], raw: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    names = ("seq", "head_hash", "signed_at", "key_id")
    message = canonical_json({"context": CHECKPOINT_CONTEXT, **{n: checkpoint[n] for n in names}}).encode("utf-8")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(_b64url(checkpoint["signature"]), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def signer(checkpoint: dict[str, Any], keys: dict[str, bytes], what: str, failures: list[str]) -> str | None:
    """The fingerprint of the key among ``keys`` that signed ``checkpoint``, or None (and why).

    The key id is derived from each key here, never read from a JWK's own ``kid``.
    """
    raw = next((r for r in keys.values() if key_id(r) == checkpoint["key_id"]), None)
    if raw is None:
        failures.append(
            f"{what} at seq {checkpoint['seq']}: signed by key id {checkpoint['key_id']}, "
            f"which is none of the keys checked against ({', '.join(sorted(keys)) or 'none'})"
        )
        return None
    if not signature_holds(checkpoint, raw):
        failures.append(f"{what} at seq {checkpoint['seq']}: signature does not verify with key {checkpoint['key_id']}")
        return None
    return fingerprint(raw)


def check_bindings(manifest_bytes: bytes, manifest: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    failures = []
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()

    def details(entry: dict[str, Any]) -> dict[str, Any]:
        value = entry.get("details")
        return value if isinstance(value, dict) else {}

    exports = [
        e for e in entries if e.get("event") == "evidence.exported" and details(e).get("export_id") == manifest["export_id"]
    ]
    if not exports:
        failures.append(f"ledger has no entry for export {manifest['export_id']}")
    elif details(exports[0]).get("manifest_sha256") != manifest_sha:
        failures.append(f"manifest.json: SHA-256 {manifest_sha} differs from the one recorded in the ledger (manifest changed)")
    received = {e.get("subject_id"): details(e).get("sha256") for e in entries if e.get("event") == "evidence.received"}
    for item in manifest["evidence"]:
        recorded = received.get(item["id"])
        if recorded is not None and recorded != item["sha256"]:
            failures.append(
                f"{item['path']}: the ledger recorded SHA-256 {recorded} at reception, manifest says {item['sha256']}"
            )
    return failures


def read_manifest(data: bytes) -> dict[str, Any]:
    manifest = parse_json(data, "manifest.json")
    field(manifest, "export_id", str, "manifest.json")
    for number, item in enumerate(field(manifest, "evidence", list, "manifest.json")):
        what = f"manifest.json evidence[{number}]"
        for key in ("id", "path"):
            field(item, key, str, what)
        if field(item, "size", int, what) < 0:
            raise Malformed(f"{what}: 'size' is negative")
        hex64(item, "sha256", what)
    return dict(manifest)


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.unverified: list[str] = []
        self.notes: list[str] = []
        self.trusted: list[str] = []  # fingerprints given from outside the package


def compare_published(published: list[dict[str, Any]], found: Chain, keys: dict[str, bytes], report: Report) -> None:
    """The export's chain passes through each published checkpoint within it (R-REC-7)."""
    if found.first is None or found.last is None:
        return
    low, high, used = found.first[0] - 1, found.last[0], 0
    for cp in published:
        if not low <= cp["seq"] <= high:
            continue
        used += 1
        signed_by = signer(cp, keys, "published checkpoint", report.failures)
        head = found.first[1] if cp["seq"] == low else found.at.get(cp["seq"])
        if head != cp["head_hash"]:
            report.failures.append(
                f"published checkpoint at seq {cp['seq']}: head {cp['head_hash']}, but this export's chain has {head} there "
                "(the history was rewritten)"
            )
        elif signed_by:
            report.notes.append(f"the chain passes through the published checkpoint at seq {cp['seq']} ({cp['signed_at']})")
    if not used:
        report.unverified.append(
            f"no given checkpoint lies within this export's chain (seq {low}..{high}); "
            f"get the one at seq {high} from GET /public/v1/ledger/checkpoints/{high}"
        )


def verify(path: Path, *, trusted: dict[str, bytes] | None = None, published: list[dict[str, Any]] | None = None) -> Report:
    """Check the package; ``trusted`` ({fingerprint: raw key}) from outside it, or None."""
    report = Report()
    package = Package(path)
    for name in CORE:
        if not package.exists(name):
            raise Malformed(f"{name}: missing from the package")
    manifest_bytes = package.read("manifest.json")
    manifest = read_manifest(manifest_bytes)
    checkpoint = read_checkpoint(parse_json(package.read("checkpoint.json"), "checkpoint.json"), "checkpoint.json")
    own_keys = jwks_keys(parse_json(package.read("public_keys.json"), "public_keys.json"), "public_keys.json")
    report.failures += check_files(package, manifest["evidence"])
    ledger_failures, found = check_ledger(package, {cp["seq"] for cp in published or []})
    report.failures += ledger_failures
    keys = own_keys if trusted is None else trusted
    signed_by = signer(checkpoint, keys, "checkpoint", report.failures)
    if not ledger_failures and found.last != (checkpoint["seq"], checkpoint["head_hash"]):
        report.failures.append(
            f"ledger.jsonl does not end at the signed checkpoint (seq {checkpoint['seq']}, head {checkpoint['head_hash']})"
        )
    report.failures += check_bindings(manifest_bytes, manifest, found.entries)
    if published is not None and not ledger_failures:
        compare_published(published, found, keys, report)
    if trusted is None:
        report.unverified.insert(
            0,
            f"the checkpoint is signed by key {signed_by or checkpoint['key_id']} taken only from the package's own "
            "public_keys.json: anyone who rewrites a package can sign it with a key of their own; run again with "
            "--key <fingerprint> or --jwks <file> obtained from the agency, as README.txt says",
        )
    else:
        report.trusted = sorted(trusted)
        if signed_by:
            report.notes.insert(0, f"checkpoint signed by the trusted key {signed_by}")
    return report


def trusted_keys(args: argparse.Namespace, package_path: Path) -> dict[str, bytes] | None:
    """{fingerprint: raw key} the caller trusts: the --jwks file, and package keys matching --key."""
    if not args.key and not args.jwks:
        return None
    keys = jwks_keys(parse_json(Path(args.jwks).read_bytes(), f"--jwks {args.jwks}"), f"--jwks {args.jwks}") if args.jwks else {}
    if args.jwks and not keys:
        raise Malformed(f"--jwks {args.jwks}: holds no Ed25519 key")
    wanted = {k.lower().removeprefix("sha256:").replace(":", "") for k in args.key}
    for value in wanted:
        if len(value) != 64 or not set(value) <= _HEX:
            raise Malformed(f"--key {value}: not a SHA-256 fingerprint (64 hex digits)")
    if wanted:
        available = {
            **jwks_keys(parse_json(Package(package_path).read("public_keys.json"), "public_keys.json"), "public_keys.json"),
            **keys,
        }
        missing = wanted - available.keys()
        if missing:
            raise Malformed(f"no key with fingerprint {', '.join(sorted(missing))} in public_keys.json or --jwks")
        keys.update({fp: available[fp] for fp in wanted})
    return keys


def published_checkpoints(files: list[str]) -> list[dict[str, Any]] | None:
    if not files:
        return None
    found = []
    for name in files:
        document = parse_json(Path(name).read_bytes(), f"--checkpoint {name}")
        items = document.get("checkpoints") if isinstance(document, dict) and "checkpoints" in document else document
        for item in items if isinstance(items, list) else [items]:
            found.append(read_checkpoint(item, f"--checkpoint {name}"))
    return found


def run(args: argparse.Namespace) -> int:
    if args.fingerprints:
        for raw in jwks_keys(parse_json(Path(args.fingerprints).read_bytes(), args.fingerprints), args.fingerprints).values():
            print(f"{key_id(raw)}  {fingerprint(raw)}")  # noqa: T201
        return EXIT_OK
    target = Path(args.package) if args.package else Path(__file__).resolve().parent
    report = verify(target, trusted=trusted_keys(args, target), published=published_checkpoints(args.checkpoint))
    if report.failures:
        print(f"FAILED ({len(report.failures)} problem{'s' if len(report.failures) > 1 else ''})")  # noqa: T201
        lines, outcome = [f"- {line}" for line in report.failures], EXIT_FAILED
    elif report.unverified:
        print("UNVERIFIED: the package is consistent, but that alone proves nothing")  # noqa: T201
        lines, outcome = [f"* {line}" for line in report.unverified], EXIT_UNVERIFIED
    else:
        print("OK: files, ledger chain, checkpoint signed by the trusted key and manifest binding verified")  # noqa: T201
        lines, outcome = report.notes, EXIT_OK
    if report.trusted:
        lines.append(f"trusted key fingerprints (SHA-256 of the raw Ed25519 public key): {', '.join(report.trusted)}")
    for line in lines:
        print(f"  {line}")  # noqa: T201
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Fieldproof export package against the agency's key.")
    parser.add_argument("package", nargs="?", help="the .zip or its folder (default: this script's folder)")
    parser.add_argument("--key", action="append", default=[], help="trusted key: SHA-256 of the raw Ed25519 key (hex)")
    parser.add_argument("--jwks", help="trusted keys: the agency's JWKS (GET /public/v1/keys)")
    parser.add_argument("--checkpoint", action="append", default=[], help="a published checkpoint (or a page of them)")
    parser.add_argument("--fingerprints", metavar="JWKS", help="print key id and fingerprint of each key, then stop")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (Malformed, OSError, zipfile.BadZipFile, EOFError, RecursionError) as exc:
        print(f"FAILED: {exc}")  # noqa: T201
    except ImportError:
        print("FAILED: signatures not checked: install the 'cryptography' package")  # noqa: T201
    except Exception as exc:  # noqa: BLE001 - a court gets one line, never a traceback
        print(f"FAILED: the package could not be read ({type(exc).__name__}: {exc})")  # noqa: T201
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
