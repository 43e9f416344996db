"""A malformed package, or a path leaving it, answers one clear FAILED line: never a traceback,
never a byte read outside the package (issue 15, R-REC-7)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidence.custody import verify_export

from .packages import Built, build_package, fingerprint, zip_package

pytestmark = pytest.mark.requirement("R-REC-7")


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = verify_export.main([str(a) for a in args])
    out = capsys.readouterr()
    assert out.err == ""
    assert "Traceback" not in out.out
    return code, out.out


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return build_package(tmp_path / "pkg")


def _manifest(change: Callable[[dict[str, Any]], object]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        change(manifest)
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return apply


def _write(name: str, text: str) -> Callable[[Path], object]:
    return lambda folder: (folder / name).write_text(text)


def _ledger_line(text: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        lines = (folder / "ledger.jsonl").read_text().splitlines()
        lines[1] = text
        (folder / "ledger.jsonl").write_text("\n".join(lines) + "\n")

    return apply


MALFORMED: dict[str, tuple[Callable[[Path], object], str]] = {
    "manifest not JSON": (_write("manifest.json", "{not json"), "manifest.json: not valid JSON"),
    "manifest an array": (_write("manifest.json", "[1, 2]"), "manifest.json: not a JSON object"),
    "manifest deeply nested": (_write("manifest.json", "[" * 100_000), "manifest.json: not valid JSON"),
    "manifest not UTF-8": (lambda f: (f / "manifest.json").write_bytes(b'{"a": "\xff"}'), "manifest.json: not valid JSON"),
    "float past the double range": (
        _manifest(lambda m: m.update(extra="__BIG__")),
        "manifest.json: number 1e400 is outside the double range",
    ),
    "NaN": (_write("manifest.json", '{"export_id": NaN}'), "manifest.json: NaN is not a JSON value"),
    "size as text": (_manifest(lambda m: m["evidence"][0].update(size="3000")), "'size' is missing or not int"),
    "size as bool": (_manifest(lambda m: m["evidence"][0].update(size=True)), "'size' is missing or not int"),
    "sha256 not hex": (_manifest(lambda m: m["evidence"][0].update(sha256="zz")), "'sha256' is not 64 lowercase hex"),
    "evidence not a list": (_manifest(lambda m: m.update(evidence={"a": 1})), "'evidence' is missing or not list"),
    "no export id": (_manifest(lambda m: m.pop("export_id")), "'export_id' is missing or not str"),
    "path not text": (_manifest(lambda m: m["evidence"][0].update(path=7)), "'path' is missing or not str"),
    "ledger line not JSON": (_ledger_line("{"), "ledger.jsonl line 2: not valid JSON"),
    "ledger float past the double range": (
        _ledger_line('{"seq": 4, "body": {"seq": 4, "details": {"x": -1e400}}}'),
        "ledger.jsonl line 2: number -1e400 is outside the double range",
    ),
    "ledger seq as text": (_ledger_line('{"seq": "4"}'), "malformed (entry: 'seq' is missing or not int)"),
    "ledger line a list": (_ledger_line("[4]"), "malformed (entry: not a JSON object)"),
    "ledger hashes not hex": (
        _ledger_line('{"seq": 4, "prev_hash": "x", "entry_hash": "y", "redacted": true, "body_hash": "z"}'),
        "ledger entry seq 4",
    ),
    "ledger body a string": (
        _ledger_line('{"seq": 4, "prev_hash": "__PREV__", "entry_hash": "' + "0" * 64 + '", "body": "x"}'),
        "'body' is missing or not dict",
    ),
    "checkpoint seq as text": (_write("checkpoint.json", '{"seq": "7"}'), "checkpoint.json: 'signed_at' is missing"),
    "checkpoint negative": (
        _write("checkpoint.json", json.dumps({"seq": -1, "head_hash": "0" * 64, "signed_at": "", "key_id": "", "signature": ""})),
        "checkpoint.json: 'seq' is negative",
    ),
    "keys not an object": (_write("public_keys.json", '"keys"'), "public_keys.json: not a JSON object"),
    "no ledger": (lambda f: (f / "ledger.jsonl").unlink(), "ledger.jsonl: missing from the package"),
    "no manifest": (lambda f: (f / "manifest.json").unlink(), "manifest.json: missing from the package"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_package_fails_cleanly(capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path, case: str) -> None:
    change, expected = MALFORMED[case]
    change(built.folder)
    for name in ("manifest.json", "ledger.jsonl"):  # placeholders a test writes literally
        path = built.folder / name
        if path.exists():
            text = path.read_bytes()
            prev = json.loads(text.splitlines()[0])["entry_hash"] if name == "ledger.jsonl" else ""
            path.write_bytes(text.replace(b'"__BIG__"', b"1e400").replace(b"__PREV__", prev.encode()))
    for target in (built.folder, zip_package(built.folder, tmp_path / "pkg.zip")):
        for args in ([], ["--key", fingerprint(built.ring)]):
            code, out = run(capsys, target, *args)
            assert code == verify_export.EXIT_FAILED, out
            assert out.startswith("FAILED"), out
            assert expected in out, out


def test_missing_file_is_named(capsys: pytest.CaptureFixture[str], built: Built) -> None:
    (built.folder / built.paths[0]).unlink()
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring))
    assert code == 1
    assert f"{built.paths[0]}: missing from the package" in out


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("not-there", "no such file or folder"),
        ("not-a-zip.zip", "not a readable zip file"),
    ],
)
def test_unreadable_package(capsys: pytest.CaptureFixture[str], tmp_path: Path, target: str, expected: str) -> None:
    (tmp_path / "not-a-zip.zip").write_bytes(b"PK\x03\x04 broken")
    code, out = run(capsys, tmp_path / target)
    assert code == 1
    assert out.startswith("FAILED:")
    assert expected in out


def test_bad_trust_arguments_fail_cleanly(capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text('{"keys": [{"kty": "RSA"}]}')
    (tmp_path / "broken.json").write_text("{")
    cases: list[tuple[list[object], str]] = [
        (["--key", "abc"], "not a SHA-256 fingerprint"),
        (["--key", "ab" * 32], "no key with fingerprint"),
        (["--jwks", tmp_path / "keys.json"], "holds no Ed25519 key"),
        (["--jwks", tmp_path / "missing.json"], "missing.json"),
        (["--checkpoint", tmp_path / "broken.json"], "--checkpoint"),
        (["--fingerprints", tmp_path / "broken.json"], "not valid JSON"),
    ]
    for args, expected in cases:
        code, out = run(capsys, built.folder, *args)
        assert code == 1, args
        assert out.startswith("FAILED"), out
        assert expected in out, out


# --- paths leaving the package -------------------------------------------------------------


def _outside_twin(built: Built, tmp_path: Path) -> Path:
    """A file outside the package with exactly the bytes the manifest lists: reading it would pass."""
    outside = tmp_path / "outside.pdf"
    outside.write_bytes((built.folder / built.paths[0]).read_bytes())
    return outside


def _point_manifest_at(built: Built, path: str) -> None:
    # The manifest's hash is bound in the ledger; the path problem must be named on its own.
    manifest = json.loads((built.folder / "manifest.json").read_text())
    manifest["evidence"][0]["path"] = path
    (built.folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "backslash", "dot"])
def test_a_path_leaving_the_package_is_not_read(
    capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path, kind: str
) -> None:
    outside = _outside_twin(built, tmp_path)
    path = {
        "dotdot": f"files/../../{outside.name}",
        "absolute": str(outside),
        "backslash": f"..\\{outside.name}",
        "dot": f"./{built.paths[0]}",
    }[kind]
    _point_manifest_at(built, path)
    for target in (built.folder, zip_package(built.folder, tmp_path / "pkg.zip")):
        code, out = run(capsys, target, "--key", fingerprint(built.ring))
        assert code == 1
        assert out.startswith("FAILED")
        assert "not read" in out
        assert path in out or repr(path) in out


def test_a_symbolic_link_is_not_followed(capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path) -> None:
    outside = _outside_twin(built, tmp_path)
    (built.folder / built.paths[0]).unlink()
    (built.folder / built.paths[0]).symlink_to(outside)
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring))
    assert code == 1
    assert f"{built.paths[0]}: a symbolic link in the package; not followed" in out


def test_a_linked_folder_is_not_followed(capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (built.folder / "files").rename(elsewhere)
    (built.folder / "files").symlink_to(elsewhere, target_is_directory=True)
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring))
    assert code == 1
    assert "a symbolic link in the package; not followed" in out


def test_a_linked_core_file_is_not_followed(capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "ledger-elsewhere.jsonl"
    (built.folder / "ledger.jsonl").rename(copy)
    (built.folder / "ledger.jsonl").symlink_to(copy)
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring))
    assert code == 1
    assert out.startswith("FAILED: ledger.jsonl: a symbolic link")


def test_a_symbolic_link_inside_a_zip_is_refused(capsys: pytest.CaptureFixture[str], built: Built, tmp_path: Path) -> None:
    target = zip_package(built.folder, tmp_path / "pkg.zip")
    with zipfile.ZipFile(target) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            if name == built.paths[0]:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data)
    code, out = run(capsys, target, "--key", fingerprint(built.ring))
    assert code == 1
    assert f"{built.paths[0]}: a symbolic link in the package" in out


def test_the_outside_file_is_never_opened(built: Built, tmp_path: Path) -> None:
    """Audit hooks see every open(): nothing outside the package, whatever the manifest says."""
    outside = _outside_twin(built, tmp_path)
    _point_manifest_at(built, f"files/../../{outside.name}")
    (built.folder / built.paths[1]).unlink()
    (built.folder / built.paths[1]).symlink_to(outside)
    script = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda e, a: opened.append(str(a[0])) if e == 'open' and a[0] is not None else None)\n"
        f"sys.argv = ['verify_export.py', {str(built.folder)!r}, '--key', {fingerprint(built.ring)!r}]\n"
        f"code = compile(open({verify_export.__file__!r}).read(), 'verify_export.py', 'exec')\n"
        "try:\n    exec(code, {'__name__': '__main__', '__file__': 'verify_export.py'})\n"
        "except SystemExit as e:\n    print('exit', e.code)\n"
        "print('SEEN' if any(p.endswith('manifest.json') for p in opened) else 'BLIND')\n"
        f"print('OUTSIDE' if any({str(outside)!r} in p or p.endswith('outside.pdf') for p in opened) else 'CLEAN')\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, check=False, timeout=60)
    assert result.stderr == ""
    assert "exit 1" in result.stdout
    assert result.stdout.split()[-2:] == ["SEEN", "CLEAN"], result.stdout  # the hook sees the package's own opens


def test_a_changed_package_still_hashes_only_its_own_files(capsys: pytest.CaptureFixture[str], built: Built) -> None:
    data = (built.folder / built.paths[0]).read_bytes()
    (built.folder / built.paths[0]).write_bytes(data + b"x")
    code, out = run(capsys, built.folder, "--key", fingerprint(built.ring))
    assert code == 1
    assert f"SHA-256 {hashlib.sha256(data + b'x').hexdigest()}" in out
    assert os.path.exists(built.folder / built.paths[0])
