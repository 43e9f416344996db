"""The export verifier trusts only a key given from outside the package (R-REC-7).

A package carries its own ``public_keys.json``, so whoever rewrites files, manifest and ledger
can sign a new checkpoint with a key of their own: such a package is consistent. The verifier
says ``UNVERIFIED`` (exit 3) without the agency's key, ``FAILED`` with it, and checks the chain
against a checkpoint the agency published.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evidence.custody import verify_export

from .packages import Built, build_package, fingerprint, forge, new_ring, sign, zip_package

pytestmark = pytest.mark.requirement("R-REC-7")


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = verify_export.main([str(a) for a in args])
    out = capsys.readouterr()
    assert out.err == ""
    return code, out.out


def jwks_file(built: Built, tmp_path: Path) -> Path:
    path = tmp_path / "agency-keys.json"
    path.write_text(json.dumps(built.ring.jwks()))
    return path


def checkpoint_file(tmp_path: Path, document: Any, name: str = "published.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return build_package(tmp_path / "pkg")


def test_genuine_package_without_a_key_is_unverified(capsys: pytest.CaptureFixture[str], built: Built) -> None:
    code, out = run(capsys, built.folder)
    assert code == verify_export.EXIT_UNVERIFIED == 3
    assert out.startswith("UNVERIFIED")
    assert fingerprint(built.ring) in out
    assert "only from the package" in out
    assert "--key" in out
    assert "--jwks" in out


def test_genuine_package_verifies_with_the_agency_fingerprint_or_jwks(
    capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path
) -> None:
    fp = fingerprint(built.ring)
    for args in (["--key", fp], ["--key", f"SHA256:{fp.upper()}"], ["--jwks", jwks_file(built, tmp_path)]):
        code, out = run(capsys, built.folder, *args)
        assert code == 0, out
        assert out.startswith("OK")
        assert f"checkpoint signed by the trusted key {fp}" in out
        assert f"trusted key fingerprints (SHA-256 of the raw Ed25519 public key): {fp}" in out
    code, out = run(capsys, zip_package(built.folder, tmp_path / "pkg.zip"), "--key", fp)
    assert code == 0, out


def test_fingerprints_prints_what_key_takes(capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path) -> None:
    code, out = run(capsys, "--fingerprints", jwks_file(built, tmp_path))
    assert code == 0
    assert out.split() == [built.ring.kid, fingerprint(built.ring)]


@pytest.mark.parametrize("keep_real_key", [False, True])
def test_forged_package_is_not_verified(
    capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path, keep_real_key: bool
) -> None:
    forger = forge(built.folder, keep_real_key=keep_real_key)
    # Consistent in itself: without the agency's key it is at best UNVERIFIED, never OK.
    code, out = run(capsys, built.folder)
    assert code == verify_export.EXIT_UNVERIFIED, out
    assert out.startswith("UNVERIFIED")
    assert fingerprint(forger) in out
    for args in (["--key", fingerprint(built.ring)], ["--jwks", jwks_file(built, tmp_path)]):
        code, out = run(capsys, built.folder, *args)
        assert code == verify_export.EXIT_FAILED, out
        assert out.startswith("FAILED"), out
        assert "OK" not in out
    # The forger's own fingerprint, given as if it were the agency's, is what a court must not do:
    # the verifier prints the fingerprint it trusted so the mistake is visible.
    code, out = run(capsys, built.folder, "--key", fingerprint(forger))
    assert code == 0
    assert fingerprint(forger) in out


def test_the_trusted_key_is_checked_not_the_kid_of_a_jwk(capsys: pytest.CaptureFixture[str], built: Built) -> None:
    # The forger labels their key with the agency's key id: the id is derived from the key itself.
    forger = forge(built.folder)
    keys = json.loads((built.folder / "public_keys.json").read_text())
    keys["keys"][0]["kid"] = built.ring.kid
    (built.folder / "public_keys.json").write_text(json.dumps(keys))
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring))
    assert code == 1
    assert fingerprint(built.ring) in out
    assert fingerprint(forger) not in out.split("trusted key fingerprints")[-1]


def test_published_checkpoint_within_the_chain_is_checked(
    capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path
) -> None:
    fp = fingerprint(built.ring)
    # The head itself, an earlier head inside the chain, the one just before it, and a page of them.
    for seq in (7, 5, 2):
        code, out = run(capsys, built.folder, "--key", fp, "--checkpoint", checkpoint_file(tmp_path, built.published(seq)))
        assert code == 0, out
        assert f"the chain passes through the published checkpoint at seq {seq}" in out
    page = {"checkpoints": [built.published(seq) for seq in (1, 3, 9)], "next_after_seq": 9}
    code, out = run(capsys, built.folder, "--key", fp, "--checkpoint", checkpoint_file(tmp_path, page))
    assert code == 0, out
    assert "published checkpoint at seq 3" in out


def test_a_rewritten_history_contradicts_the_published_checkpoint(
    capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path
) -> None:
    # The agency signed seq 5 with another head before; this package's chain differs there.
    earlier = sign(built.ring, 5, "ab" * 32)
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring), "--checkpoint", checkpoint_file(tmp_path, earlier))
    assert code == 1
    assert "published checkpoint at seq 5: head abab" in out
    assert "the history was rewritten" in out


def test_a_published_checkpoint_must_carry_the_agency_signature(
    capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path
) -> None:
    by_someone = built.published(7, ring=new_ring())
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring), "--checkpoint", checkpoint_file(tmp_path, by_someone))
    assert code == 1
    assert "published checkpoint at seq 7: signed by key id" in out
    changed = {**built.published(7), "signed_at": "2020-01-01T00:00:00.000000Z"}
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring), "--checkpoint", checkpoint_file(tmp_path, changed))
    assert code == 1
    assert "published checkpoint at seq 7: signature does not verify" in out


def test_a_checkpoint_outside_the_chain_leaves_it_unverified(
    capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path
) -> None:
    later = sign(built.ring, 40, "cd" * 32)
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring), "--checkpoint", checkpoint_file(tmp_path, later))
    assert code == verify_export.EXIT_UNVERIFIED, out
    assert "no given checkpoint lies within this export's chain (seq 2..7)" in out
    assert "/public/v1/ledger/checkpoints/7" in out
    assert fingerprint(built.ring) in out


def test_a_court_runs_the_bundled_script_in_a_fresh_interpreter(tmp_path: Path) -> None:
    built = build_package(tmp_path / "pkg", with_verifier=True)
    published = checkpoint_file(tmp_path, built.published(7))

    def court(*args: object) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-I", str(built.folder / "verify_export.py"), *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, cwd="/", check=False, timeout=60)

    genuine = court("--key", fingerprint(built.ring), "--checkpoint", published)
    assert genuine.returncode == 0, genuine.stdout + genuine.stderr
    assert court().returncode == 3
    forge(built.folder)
    forged = court("--jwks", jwks_file(built, tmp_path), "--checkpoint", published)
    assert forged.returncode == 1
    assert forged.stdout.startswith("FAILED")
    assert forged.stderr == ""
