"""``fieldproof calendar load FILE``: the Justice Bureau's data file, validated before anything
is stored (on the embedded default, like tests/integration/core/test_cli.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.integration.core.test_cli import _run

NOTICE = {
    "year": 2027,
    "notice_ref": "国办发明电〔2026〕7号",
    "holidays": ["2027-01-01", "2027-02-05"],
    "makeup_workdays": ["2027-02-13"],
}


def test_a_year_is_loaded_from_a_validated_data_file(tmp_path: Path) -> None:
    assert _run(["migrate"], tmp_path).returncode == 0
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**NOTICE, "makeup_workdays": ["2027-02-10"]}), encoding="utf-8")
    refused = _run(["calendar", "load", str(wrong)], tmp_path)
    assert refused.returncode == 2
    assert "makeup_workdays[0]" in refused.stderr
    assert "weekday" in refused.stderr
    toml = tmp_path / "2027.toml"
    lines = [
        "year = 2027",
        'notice_ref = "国办发明电〔2026〕7号"',
        "holidays = [2027-01-01, 2027-02-05]",
        "makeup_workdays = [2027-02-13]",
    ]
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = _run(["calendar", "load", str(toml)], tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "2027 loaded" in loaded.stdout
    with sqlite3.connect(tmp_path / "fieldproof.sqlite3") as conn:
        rows = conn.execute("SELECT year, makeup_workdays FROM org_statutory_year").fetchall()
        events = conn.execute("SELECT count(*) FROM custody_ledger WHERE event = 'calendar.year_loaded'").fetchone()[0]
    assert rows == [(2027, '["2027-02-13"]')]
    assert events == 1
