"""Exports nobody can forge (issue 15, R-REC-7).

A real export, forged as the issue describes (a file replaced, manifest and ledger rewritten,
the checkpoint re-signed with a new key placed in ``public_keys.json``), is never reported
verified: UNVERIFIED without the agency's key, FAILED with it. The genuine export verifies
with the agency's key from ``/public/v1/keys`` and a checkpoint published at
``/public/v1/ledger/checkpoints``, which answers without login, pages, and whose signatures
verify against ``/public/v1/keys``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.core.keys import KeyRing
from backend.ledger.checkpoint import make_checkpoint
from backend.ledger.service import append_event
from evidence.custody import verify_export
from evidence.custody.export import VERIFIER
from tests.unit.custody.packages import forge

from .conftest import Scene
from .test_export import _export, _unpack, agency_keys

pytestmark = pytest.mark.requirement("R-REC-7")


def court(folder: Path, *args: object) -> subprocess.CompletedProcess[str]:
    """The verifier a court obtained from the agency (not the package's copy), in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-I", str(VERIFIER), str(folder), *map(str, args)],
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
        timeout=120,
    )


async def published(client: AsyncTestClient[Litestar], path: str, folder: Path, name: str = "published.json") -> Path:
    response = await client.get(f"/public/v1/ledger/checkpoints{path}")  # no Authorization header
    assert response.status_code == 200, response.text
    target = folder / name
    target.write_bytes(response.content)
    return target


def fingerprints(jwks: Path) -> list[str]:
    return sorted(verify_export.jwks_keys(json.loads(jwks.read_bytes()), "jwks"))


async def test_a_forged_export_is_never_reported_verified(
    client: AsyncTestClient[Litestar], scene: Scene, tmp_path: Path
) -> None:
    folder = _unpack(await _export(client, scene), tmp_path / "pkg")
    keys = await agency_keys(client, tmp_path)
    seq = json.loads((folder / "checkpoint.json").read_text())["seq"]
    checkpoint = await published(client, f"/{seq}", tmp_path)
    forger = forge(folder)
    alone = court(folder)
    assert alone.returncode == 3, alone.stdout
    assert alone.stdout.startswith("UNVERIFIED")
    assert fingerprints(keys)[0] not in alone.stdout  # the key it names is the forger's
    for args in (["--jwks", keys], ["--key", fingerprints(keys)[0]], ["--jwks", keys, "--checkpoint", checkpoint]):
        result = court(folder, *args)
        assert result.returncode == 1, result.stdout
        assert result.stdout.startswith("FAILED"), result.stdout
        assert result.stderr == ""
    result = court(folder, "--jwks", keys)
    assert f"signed by key id {forger.kid}" in result.stdout
    # The forger keeps the agency's key beside theirs: still FAILED with the agency's fingerprint.
    forge(folder, keep_real_key=True)
    assert court(folder, "--key", fingerprints(keys)[0]).returncode == 1


async def test_the_genuine_export_verifies_with_the_agency_key_and_a_published_checkpoint(
    client: AsyncTestClient[Litestar], scene: Scene, tmp_path: Path, key_ring: KeyRing
) -> None:
    # Someone kept the checkpoint the agency published after the evidence arrived, before the export.
    kept = await make_checkpoint(keys=key_ring, force=True)
    before = await published(client, f"/{kept.seq}", tmp_path, "kept.json")
    folder = _unpack(await _export(client, scene), tmp_path / "pkg")
    keys = await agency_keys(client, tmp_path)
    seq = json.loads((folder / "checkpoint.json").read_text())["seq"]
    at_head = await published(client, f"/{seq}", tmp_path)
    page = await published(client, "?after_seq=0&limit=1000", tmp_path, "page.json")
    for args in (["--jwks", keys, "--checkpoint", at_head], ["--key", fingerprints(keys)[0], "--checkpoint", before]):
        result = court(folder, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("OK")
        assert f"checkpoint signed by the trusted key {fingerprints(keys)[0]}" in result.stdout
    result = court(folder, "--jwks", keys, "--checkpoint", page)
    assert result.returncode == 0, result.stdout
    assert f"published checkpoint at seq {kept.seq}" in result.stdout
    assert f"published checkpoint at seq {seq}" in result.stdout
    # A checkpoint signed after the export lies beyond its chain: not a proof, and said so.
    await append_event(event="evidence.viewed", actor_id=None, agency_id=None, subject_type="evidence", subject_id="later")
    await make_checkpoint(keys=key_ring)
    latest = await published(client, "/latest", tmp_path, "latest.json")
    beyond = court(folder, "--jwks", keys, "--checkpoint", latest)
    assert beyond.returncode == 3, beyond.stdout
    assert f"/public/v1/ledger/checkpoints/{seq}" in beyond.stdout


async def test_the_package_readme_tells_the_court_how(client: AsyncTestClient[Litestar], scene: Scene, tmp_path: Path) -> None:
    folder = _unpack(await _export(client, scene), tmp_path / "pkg")
    readme = (folder / "README.txt").read_text()
    checkpoint = json.loads((folder / "checkpoint.json").read_text())
    for needed in (
        "GET /public/v1/keys",
        f"GET /public/v1/ledger/checkpoints/{checkpoint['seq']}",
        "GET /public/v1/ledger/verifier",
        "--jwks keys.json --checkpoint checkpoint.json",
        "--key <fingerprint>",
        "SHA-256 of the raw 32-byte Ed25519",
        "Never use public_keys.json from this package",
        "UNVERIFIED (exit 3)",
        checkpoint["key_id"],
    ):
        assert needed in readme, needed
    # The verifier is published too; the bundled copy is that script, and the README names its hash.
    response = await client.get("/public/v1/ledger/verifier")
    assert response.status_code == 200
    assert response.content == (folder / "verify_export.py").read_bytes() == VERIFIER.read_bytes()
    assert hashlib.sha256(response.content).hexdigest() in readme


def _signature_holds(cp: dict[str, Any], jwks: dict[str, Any]) -> bool:
    keys = verify_export.jwks_keys(jwks, "jwks")
    raw = next(r for r in keys.values() if verify_export.key_id(r) == cp["key_id"])
    return verify_export.signature_holds(cp, raw)


@pytest.mark.both_engines
async def test_published_checkpoints_answer_without_login_page_and_verify(
    client: AsyncTestClient[Litestar], database: None, key_ring: KeyRing
) -> None:
    none_yet = await client.get("/public/v1/ledger/checkpoints/latest")
    assert none_yet.status_code == 404
    assert none_yet.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/public/v1/ledger/checkpoints")).json() == {"checkpoints": [], "next_after_seq": None}
    signed = []
    for _ in range(5):
        await append_event(event="evidence.viewed", actor_id=None, agency_id=None, subject_type="evidence", subject_id="x")
        signed.append(await make_checkpoint(keys=key_ring))
    await make_checkpoint(keys=key_ring, force=True)  # a second signature of the same head: published once
    jwks = (await client.get("/public/v1/keys")).json()
    seen: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = await client.get(f"/public/v1/ledger/checkpoints?after_seq={after}&limit=2")
        assert page.status_code == 200
        body = page.json()
        seen += body["checkpoints"]
        after = body["next_after_seq"]
    assert [cp["seq"] for cp in seen] == [cp.seq for cp in signed]
    assert all(set(cp) == {"seq", "head_hash", "signed_at", "key_id", "signature"} for cp in seen)
    assert [cp["head_hash"] for cp in seen] == [cp.head_hash for cp in signed]
    assert all(_signature_holds(cp, jwks) for cp in seen)
    latest = (await client.get("/public/v1/ledger/checkpoints/latest")).json()
    assert latest["seq"] == signed[-1].seq
    assert _signature_holds(latest, jwks)
    one = await client.get(f"/public/v1/ledger/checkpoints/{signed[2].seq}")
    assert one.json() == seen[2]
    assert "immutable" in one.headers["cache-control"]
    # A forged field breaks the signature the court checks.
    assert not _signature_holds({**seen[0], "head_hash": "0" * 64}, jwks)
    missing = await client.get("/public/v1/ledger/checkpoints/999999")
    assert missing.status_code == 404
    for bad in ("/9223372036854775808", "/-1", "?after_seq=-1", "?limit=0", "?limit=1001", "?after_seq=99999999999999999999"):
        response = await client.get(f"/public/v1/ledger/checkpoints{bad}")
        assert response.status_code in (400, 404), (bad, response.status_code)
        assert response.status_code < 500
