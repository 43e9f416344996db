"""The `fieldproof` command on the embedded default (SQLite + files).

The commands run in this process (``backend.cli.main`` with the environment, stdin and output
swapped for the call): a new Python process per command costs seconds of imports. One test
runs the installed console script as a real process, where exit status and stderr are the point.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

from backend import cli

COMMANDS = [
    "serve",
    "migrate",
    "demo",
    "check",
    "rotate-keys",
    "verify-ledger",
    "verify-objects",
    "sweep-uploads",
    "reconcile",
    "sign-checkpoint",
    "create-agency",
    "create-user",
]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def _environment(data_dir: Path, **env: str) -> dict[str, str]:
    # The test run's own settings (FIELDPROOF_TEST_*) stay; the command sees only these.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FIELDPROOF_") or k.startswith("FIELDPROOF_TEST_")}
    return environment | {"FIELDPROOF_DATA_DIR": str(data_dir), "FIELDPROOF_LOG_LEVEL": "WARNING", **env}


def _run(args: list[str], data_dir: Path, stdin: str = "", **env: str) -> Result:
    """``fieldproof <args>`` in this process: exit status (argparse's SystemExit included) and output."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, _environment(data_dir, **env), clear=True),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = cli.main(args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return Result(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def _count(data_dir: Path, table: str) -> int:
    with sqlite3.connect(data_dir / "fieldproof.sqlite3") as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - test-owned names


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, tmp_path):
    result = _run([command, "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage: fieldproof" in result.stdout


def test_bad_setting_is_named_and_nothing_runs(tmp_path):
    """The installed console script, as a real process: exit status 2 and the variable named."""
    script = Path(sys.executable).with_name("fieldproof")
    result = subprocess.run(
        [str(script), "migrate"],
        capture_output=True,
        text=True,
        env=_environment(tmp_path, FIELDPROOF_PORT="not-a-port"),
        timeout=180,
        check=False,
    )
    assert result.returncode == 2
    assert "FIELDPROOF_PORT" in result.stderr
    assert not (tmp_path / "fieldproof.sqlite3").exists()


def test_migrate_and_demo_twice_are_idempotent(tmp_path):
    for _ in range(2):
        assert _run(["migrate"], tmp_path).returncode == 0
        demo = _run(["demo"], tmp_path)
        assert demo.returncode == 0, demo.stderr
        assert "DEMO ONLY" in demo.stdout
    users = _count(tmp_path, "org_user")
    agencies = _count(tmp_path, "org_agency")
    assert users >= 8
    assert agencies == 6
    assert _run(["demo"], tmp_path).returncode == 0
    assert _count(tmp_path, "org_user") == users
    # One complaint (issue 17), accepted, however often the demo runs.
    assert _count(tmp_path, "ovs_complaint") == 1
    assert _count(tmp_path, "ovs_complaint_channel") == 1


def test_create_user_reads_the_password_from_stdin(tmp_path):
    assert _run(["migrate"], tmp_path).returncode == 0
    agency = _run(
        [
            "create-agency",
            "--code",
            "bureau",
            "--name",
            "局",
            "--kind",
            "enforcement_agency",
            "--announcement-no",
            "N1",
            "--announcement-date",
            "2022-11-01",
        ],
        tmp_path,
    )
    assert agency.returncode == 0, agency.stderr
    user = _run(
        ["create-user", "--agency", "bureau", "--username", "wang", "--full-name", "王", "--role", "officer"],
        tmp_path,
        stdin="a-long-password\n",
    )
    assert user.returncode == 0, user.stderr
    assert "a-long-password" not in user.stdout + user.stderr
    with sqlite3.connect(tmp_path / "fieldproof.sqlite3") as conn:
        stored = conn.execute("SELECT password_hash FROM org_user WHERE username='wang'").fetchone()[0]
    assert stored.startswith("$argon2")
    short = _run(
        ["create-user", "--agency", "bureau", "--username", "li", "--full-name", "李", "--role", "officer"], tmp_path, stdin="x\n"
    )
    assert short.returncode == 2
    assert "password" in short.stderr


def test_check_and_ledger_commands(tmp_path):
    assert _run(["migrate"], tmp_path).returncode == 0
    check = _run(["check"], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "database" in check.stdout
    assert "ok" in check.stdout
    checkpoint = _run(["sign-checkpoint"], tmp_path)
    assert checkpoint.returncode == 0, checkpoint.stderr
    verify = _run(["verify-ledger"], tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert '"ok": true' in verify.stdout


def test_reconcile_command_reports_json(tmp_path):
    """``fieldproof reconcile [--fix]`` prints its JSON report; a stray staged object is found,
    then removed with --fix (tests/integration/evidence/test_reconcile.py covers every case)."""
    assert _run(["migrate"], tmp_path).returncode == 0
    stray = tmp_path / "objects" / "data" / "staging" / "tus" / "0b5a5f0e-5d7e-4b0c-9f5e-1c2d3e4f5a6b" / "file"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"stray")
    found = _run(["reconcile"], tmp_path)
    assert found.returncode == 1, found.stdout + found.stderr
    report = json.loads(found.stdout)
    assert [f["kind"] for f in report["objects_without_rows"]] == ["orphan-staged"]
    fixed = _run(["reconcile", "--fix"], tmp_path)
    assert json.loads(fixed.stdout)["objects_without_rows"][0]["outcome"] == "deleted"
    assert not stray.exists()
    assert _run(["reconcile"], tmp_path).returncode == 0
