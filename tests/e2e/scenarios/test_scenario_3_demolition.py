"""Scenario 3 — forced demolition of an illegal structure (强制拆除), the comprehensive bureau's
hardest day, played on the demo over HTTP.

The demolition order was issued and served months ago and the party's periods have run (the
demo's history). The action is planned with five officers; each checks in and declares; 陈 of
the township, entrusted with land inspections only, is refused. Two phones record live; 王's
breaks: its uploaded segment stays sealed, its session is flagged, 李's video covers the rest —
overlap, not a gap. Afterwards 孙 retrieves the recording (purpose: an administrative
reconsideration application), seeks into it with a Range request, exports the court package,
and the court clerk's offline verifier says OK.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from backend.demo.history import DEMOLITION_CASE, DEMOLITION_DECISION_NO, DEMOLITION_OFFICERS
from backend.demo.today import DEMOLITION_ACTION, LAND_CASE
from tests.e2e.scenarios.town import MOBILE, OFFICE, Town, now, ok, problem
from tests.integration.evidence.media_factory import mp4

pytestmark = pytest.mark.slow

ACTION, CASE = str(DEMOLITION_ACTION), str(DEMOLITION_CASE)
PURPOSE = "行政复议申请"


def _video(start: datetime, seconds: float) -> bytes:
    return mp4(seconds=seconds, creation_time=start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _court(verifier: Path, folder: Path, *args: object) -> subprocess.CompletedProcess[str]:
    """The court clerk's run: a fresh interpreter, no project code, the verifier the agency publishes."""
    command = [sys.executable, "-I", str(verifier), str(folder), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd="/", check=False, timeout=120)


@pytest.mark.requirement(
    "R-REC-2", "R-REC-3", "R-REC-4", "R-REC-5", "R-REC-7", "R-REC-8", "R-RCS-1", "R-CERT-4", "R-CERT-5", "R-AGY-5"
)
def test_forced_demolition_with_a_broken_phone_and_the_court_package(town: Town, tmp_path: Path) -> None:
    liu, sun = town["liu"], town["sun"]
    officers = [town[name] for name in DEMOLITION_OFFICERS]
    wang, li = officers[0], officers[1]

    # 1. The decision behind it: issued and served months ago.
    decisions = ok(liu.get(f"{OFFICE}/cases/{CASE}/decisions"))
    assert [(d["decision_no"], d["status"]) for d in decisions] == [(DEMOLITION_DECISION_NO, "issued")]
    planned = ok(liu.get(f"{OFFICE}/actions/{ACTION}"))
    assert planned["kind"] == "forced_demolition"
    assert planned["requires_av"] is True
    assert {p["user_id"] for p in planned["participants"]} == {o.user_id for o in officers}

    # 2. 陈 (township, entrusted with land inspection only) cannot join the demolition: the
    # bureau's action is not his agency's, and his entrustment does not cover demolition.
    chen = town["chen"]
    assert chen.check_in(ACTION).status_code == 404
    demolish = {
        "case_id": str(LAND_CASE),
        "kind": "forced_demolition",
        "title": "拆除某村违法占地建筑",
        "planned_at": now().isoformat(),
        "participant_ids": [chen.user_id],
        "coercion_reason": "当事人拒不拆除",
    }
    problem(chen.post(f"{OFFICE}/actions", demolish), 403, "domain-not-covered")

    # Every participant checks in (certificate verified) and declares.
    for number, officer in enumerate(officers):
        assert ok(officer.check_in(ACTION), 201)["allowed"] is True
        ok(officer.show_certificate(ACTION), 201)  # R-CERT-5
        assert ok(officer.declare(ACTION), 201)["conflict"] is False
        if number == 0:
            # One officer alone cannot start: two with valid certificates at least.
            alone = problem(wang.transition(ACTION, "start"), 409, "action-start-blocked")
            assert "check_ins" in {m["code"] for m in alone["missing"]}
    # Two phones record live: sessions open before the start.
    sessions = {}
    for officer in (wang, li):
        sessions[officer.username] = str(uuid.uuid4())
        body = {"id": sessions[officer.username], "device_id": officer.device, "device_time": now().isoformat()}
        ok(officer.post(f"{MOBILE}/actions/{ACTION}/recording-sessions", body), 201)
    checklist = ok(wang.get(f"{MOBILE}/actions/{ACTION}"))
    assert checklist["ready_to_start"] is True, checklist["missing"]
    assert checklist["valid_check_ins"] == 5
    started = ok(wang.transition(ACTION, "start"))
    t0 = datetime.fromisoformat(started["started_at"])

    # 3. 王's phone records [t0-2 s, t0+4 s], uploads it, and breaks: the session is flagged.
    broken = wang.upload_video(
        tmp_path, CASE, ACTION, _video(t0 - timedelta(seconds=2), 6), captured_at=t0 - timedelta(seconds=2)
    )
    assert broken
    close = {"device_time": now().isoformat(), "flag": "device_broken"}
    ok(wang.post(f"{MOBILE}/actions/{ACTION}/recording-sessions/{sessions['wang']}/close", close))
    time.sleep(max((t0 + timedelta(seconds=6) - now()).total_seconds(), 0))
    ended = ok(li.transition(ACTION, "end"))
    t_end = datetime.fromisoformat(ended["ended_at"])
    # 李's phone ran from t0-1 s to after the end: it overlaps 王's segment.
    li_start = t0 - timedelta(seconds=1)
    li.upload_video(tmp_path, CASE, ACTION, _video(li_start, (t_end - li_start).total_seconds() + 2), captured_at=li_start)
    coverage = ok(liu.get(f"{OFFICE}/actions/{ACTION}/coverage"))
    assert coverage["gaps"] == []
    assert coverage["complete"] is True
    assert len(coverage["covered"]) == 1  # the two segments overlap into one covered span
    closed = ok(wang.transition(ACTION, "close"))
    assert closed["state"] == "closed"
    timeline = ok(liu.get(f"{OFFICE}/cases/{CASE}/timeline", params={"limit": 1000}))["items"]
    flagged = [e for e in timeline if e["event"] == "recording.closed"]
    assert [e["details"]["flag"] for e in flagged] == ["device_broken"]

    # 4. 孙 retrieves the recording for the reconsideration and seeks into it (Range).
    chain = ok(sun.get(f"{OFFICE}/cases/{CASE}/evidence-chain", params={"purpose": PURPOSE}))
    recordings = [i for i in chain["items"] if i["evidence"]["kind"] == "video"]
    # The broken phone's segment is sealed like the other: verified on arrival, in the chain.
    assert [(i["evidence"]["status"], i["verification"]) for i in recordings] == [("verified", "verified at reception")] * 2
    videos = [i["evidence"] for i in recordings]
    longest = max(videos, key=lambda v: v["size"])
    offset = longest["size"] * 47 // 60  # "minute 47" of the recording
    part = sun.get(
        f"{OFFICE}/evidence/{longest['id']}/content", params={"purpose": PURPOSE}, headers={"Range": f"bytes={offset}-"}
    )
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {offset}-{longest['size'] - 1}/{longest['size']}"
    assert len(part.content) == longest["size"] - offset

    # The court package, and the court clerk's offline verifier with the agency's published key
    # and checkpoint (never the package's own).
    package = sun.post(f"{OFFICE}/cases/{CASE}/export", {"purpose": PURPOSE})
    assert package.status_code == 200, package.text
    folder = tmp_path / "court"
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        archive.extractall(folder)
    clerk = tmp_path / "clerk"
    clerk.mkdir()
    (clerk / "verify_export.py").write_bytes(ok_bytes(town.public("/public/v1/ledger/verifier")))
    (clerk / "keys.json").write_bytes(ok_bytes(town.public("/public/v1/keys")))
    seq = json.loads((folder / "checkpoint.json").read_text())["seq"]
    (clerk / "checkpoint.json").write_bytes(ok_bytes(town.public(f"/public/v1/ledger/checkpoints/{seq}")))
    verdict = _court(clerk / "verify_export.py", folder, "--jwks", clerk / "keys.json", "--checkpoint", clerk / "checkpoint.json")
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert verdict.stdout.startswith("OK"), verdict.stdout


def ok_bytes(response: httpx.Response) -> bytes:
    assert response.status_code == 200, response.text
    return response.content
