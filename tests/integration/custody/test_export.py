"""Export packages: the standalone verifier says OK with the agency's key, and exactly what fails after tampering.

Forged packages, published checkpoints and the public endpoint: ``test_export_trust.py``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.field import action_schemas, actions
from backend.ledger.tables import LedgerRow

from .conftest import Scene


async def _export(client: AsyncTestClient[Litestar], scene: Scene, who: str = "reviewer", **body: object) -> bytes:
    response = await client.post(
        f"/api/v1/cases/{scene.case_id}/export", json={"purpose": "court submission", **body}, headers=await scene.h(who)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    return response.content


async def agency_keys(client: AsyncTestClient[Litestar], folder: Path) -> Path:
    """The agency's JWKS as a court fetches it, from the public endpoint (no login), outside the package."""
    response = await client.get("/public/v1/keys")
    assert response.status_code == 200
    path = folder / "agency-keys.json"
    path.write_bytes(response.content)
    return path


def _verify(target: Path, *args: object) -> subprocess.CompletedProcess[str]:
    """Run the package's own verifier as a court would: a fresh interpreter, no project code."""
    return subprocess.run(
        [sys.executable, "-I", str(target / "verify_export.py"), *map(str, args)],
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
        timeout=120,
    )


def _unpack(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(folder)
    return folder


def _rewrite(folder: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    path = folder / name
    path.write_bytes(change(path.read_bytes()))


@pytest.mark.requirement("R-REC-6", "R-REC-7")
async def test_export_verifies_ok_standalone(client: AsyncTestClient[Litestar], scene: Scene, tmp_path: Path) -> None:
    officer = await scene.person("officer")
    action = await actions.create_action(
        principal=officer.principal,
        data=msgspec.convert(
            {
                "case_id": str(scene.case_id),
                "kind": "inspection",
                "planned_at": "2026-03-01T09:00:00+08:00",
                "participant_ids": [str(officer.user.id)],
            },
            action_schemas.ActionIn,
        ),
    )
    data = await _export(client, scene)
    folder = _unpack(data, tmp_path / "pkg")
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert {"manifest.json", "ledger.jsonl", "checkpoint.json", "public_keys.json", "verify_export.py", "README.txt"} <= set(
        names
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["case"]["id"] == str(scene.case_id)
    assert [a["id"] for a in manifest["case"]["actions"]] == [str(action.id)]
    assert manifest["case"]["actions"][0]["participants"][0]["user_id"] == str(officer.user.id)
    assert manifest["case"]["coverage_reports"] == {str(action.id): []}
    assert "recusal_declarations" in manifest["case"]
    for item in scene.evidence:
        entry = next(e for e in manifest["evidence"] if e["id"] == str(item.id))
        assert (folder / entry["path"]).read_bytes() == scene.payloads[item.id]
        assert entry["sha256"] == item.sha256
    keys = await agency_keys(client, tmp_path)
    result = _verify(folder, "--jwks", keys)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK")
    # Without the agency's key the package proves nothing (issue 15: this used to say OK).
    alone = _verify(folder)
    assert alone.returncode == 3, alone.stdout
    assert alone.stdout.startswith("UNVERIFIED")
    # The same verifier also reads the .zip directly.
    (tmp_path / "pkg.zip").write_bytes(data)
    direct = subprocess.run(
        [sys.executable, "-I", str(folder / "verify_export.py"), str(tmp_path / "pkg.zip"), "--jwks", str(keys)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert direct.returncode == 0, direct.stdout
    exported = await LedgerRow.select().where(LedgerRow.event == "evidence.exported").first()
    assert exported is not None
    assert exported["case_id"] == scene.case_id
    assert manifest["export_id"] in exported["details"]


@pytest.mark.requirement("R-REC-7")
async def test_one_changed_byte_in_a_file_is_named(client: AsyncTestClient[Litestar], scene: Scene, tmp_path: Path) -> None:
    folder = _unpack(await _export(client, scene), tmp_path / "pkg")
    manifest = json.loads((folder / "manifest.json").read_text())
    path = manifest["evidence"][1]["path"]
    _rewrite(folder, path, lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:])
    result = _verify(folder)
    assert result.returncode == 1
    assert f"{path}: SHA-256" in result.stdout
    assert "does not match the manifest" in result.stdout
    assert result.stdout.count("\n  - ") == 1, result.stdout  # exactly that one failure


@pytest.mark.requirement("R-REC-7")
async def test_one_changed_ledger_entry_is_named_by_sequence(
    client: AsyncTestClient[Litestar], scene: Scene, tmp_path: Path
) -> None:
    folder = _unpack(await _export(client, scene), tmp_path / "pkg")
    lines = (folder / "ledger.jsonl").read_text().splitlines()
    target = next(json.loads(line) for line in lines if not json.loads(line).get("redacted"))
    target["body"]["details"]["size"] = 1

    def change(raw: bytes) -> bytes:
        out = []
        for line in raw.decode().splitlines():
            out.append(json.dumps(target) if json.loads(line)["seq"] == target["seq"] else line)
        return ("\n".join(out) + "\n").encode()

    _rewrite(folder, "ledger.jsonl", change)
    result = _verify(folder)
    assert result.returncode == 1
    assert f"ledger entry seq {target['seq']}: entry_hash does not match its content" in result.stdout


async def test_changed_manifest_and_forged_checkpoint_are_reported(
    client: AsyncTestClient[Litestar], scene: Scene, tmp_path: Path
) -> None:
    folder = _unpack(await _export(client, scene), tmp_path / "pkg")
    _rewrite(folder, "manifest.json", lambda b: b.replace(b"court submission", b"court submissioN"))
    checkpoint = json.loads((folder / "checkpoint.json").read_text())
    checkpoint["signed_at"] = "2020-01-01T00:00:00.000000Z"
    (folder / "checkpoint.json").write_text(json.dumps(checkpoint))
    result = _verify(folder)
    assert result.returncode == 1
    assert "manifest.json: SHA-256" in result.stdout
    assert f"checkpoint at seq {checkpoint['seq']}: signature does not verify" in result.stdout


async def test_other_cases_entries_are_only_hashes(client: AsyncTestClient[Litestar], scene: Scene, tmp_path: Path) -> None:
    # Another case's reads land between this case's entries: the package must not disclose them.
    await client.get(f"/api/v1/evidence/{scene.evidence[0].id}/content?purpose=first", headers=await scene.h("reviewer"))
    from backend.ledger.service import append_event

    await append_event(event="evidence.viewed", actor_id=None, agency_id=None, subject_type="evidence", subject_id="elsewhere")
    await client.get(f"/api/v1/evidence/{scene.evidence[0].id}/content?purpose=second", headers=await scene.h("reviewer"))
    folder = _unpack(await _export(client, scene), tmp_path / "pkg")
    text = (folder / "ledger.jsonl").read_text()
    assert "elsewhere" not in text
    assert '"redacted":true' in text
    assert _verify(folder, "--jwks", await agency_keys(client, tmp_path)).returncode == 0


async def test_export_needs_a_reviewer_of_the_agency(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    # A colleague without the part is refused (403); another agency never learns the case exists.
    for who, status in (("officer", 403), ("stranger", 404)):
        response = await client.post(
            f"/api/v1/cases/{scene.case_id}/export", json={"purpose": "curiosity"}, headers=await scene.h(who)
        )
        assert response.status_code == status, who
    missing = await client.post(f"/api/v1/cases/{scene.case_id}/export", json={}, headers=await scene.h("reviewer"))
    assert missing.status_code == 422
    assert missing.json()["field"] == "purpose"
