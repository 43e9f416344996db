"""Scenario 2 — impound of counterfeit goods (扣押), mandatory full audio-video, played on the
demo over HTTP.

The case was opened after a complaint; 钱 and 郑 are on the impound, 赵 (certificate suspended)
is not. 郑 declares a conflict (the shop owner is his cousin) and is removed; 蒋 assigns 韩,
who checks in and declares no conflict; only then can it start. The recording session opens
before the start; the seized items are photographed and listed; the phone's battery is swapped:
an 80-second gap. Closing is refused (``video-coverage-incomplete``) until the gap has a reason
and 蒋 approves it. 蒋's case timeline shows it all and every object re-hashes to its SHA-256.

The gap is real time: the action runs about a minute and a half on the server's clock.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.demo.today import IMPOUND_ACTION, IMPOUND_CASE
from tests.e2e.scenarios.town import MOBILE, OFFICE, Town, jpeg, now, ok, problem
from tests.integration.evidence.media_factory import mp4

pytestmark = pytest.mark.slow

ACTION, CASE = str(IMPOUND_ACTION), str(IMPOUND_CASE)
GAP_S = 80


def _tag(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _video(start: datetime, seconds: float) -> bytes:
    """A small phone video whose container says when it began (64×48, 10 fps)."""
    return mp4(seconds=seconds, creation_time=_tag(start))


@pytest.mark.requirement(
    "R-CERT-4",
    "R-CERT-5",
    "R-RCS-1",
    "R-RCS-2",
    "R-RCS-3",
    "R-RCS-4",
    "R-REC-2",
    "R-REC-3",
    "R-REC-4",
    "R-REC-5",
    "R-REC-8",
    "R-DISC-6",
)
def test_impound_with_a_recusal_a_replacement_and_an_approved_battery_gap(town: Town, tmp_path: Path) -> None:
    qian, zheng, han, jiang = town["qian"], town["zheng"], town["han"], town["jiang"]
    planned = ok(jiang.get(f"{OFFICE}/actions/{ACTION}"))
    assert planned["requires_av"] is True
    assert planned["coercion_reason"]  # R-DISC-6: why milder means do not suffice, recorded when planned
    assert {p["user_id"] for p in planned["participants"]} == {qian.user_id, zheng.user_id}

    # 1. 赵's certificate is suspended: he is not on the impound, and cannot check in to it.
    zhao = town["zhao"]
    problem(zhao.check_in(ACTION), 403, "not-assigned")

    # 2. Both check in; 郑 declares a conflict (the shop owner is his cousin) and is removed.
    for officer in (qian, zheng):
        assert ok(officer.check_in(ACTION), 201)["allowed"] is True
        ok(officer.show_certificate(ACTION), 201)  # R-CERT-5, on arrival
    assert ok(qian.declare(ACTION), 201)["conflict"] is False
    conflict = ok(zheng.declare(ACTION, ground="close_relative", statement="当事人郑某系本人表兄"), 201)
    assert conflict["conflict"] is True
    after = ok(jiang.get(f"{OFFICE}/actions/{ACTION}"))
    removed = next(p for p in after["participants"] if p["user_id"] == zheng.user_id)
    assert (removed["removed"], removed["user_name"]) == (True, zheng.full_name)  # named, not a bare id
    case = ok(jiang.get(f"{OFFICE}/cases/{CASE}"))
    assert next(o for o in case["officers"] if o["user_id"] == zheng.user_id)["removed"] is True
    # R-RCS-4: once recused, 郑 cannot be put back.
    problem(jiang.post(f"{OFFICE}/actions/{ACTION}/participants", {"user_id": zheng.user_id}), 409, "conflict")
    # Only one officer is left: the start lists everything still missing at once.
    blocked = problem(qian.transition(ACTION, "start"), 409, "action-start-blocked")
    assert {m["code"] for m in blocked["missing"]} >= {"check_ins", "recording_session"}

    # A replacement: 韩 declares on the case before 蒋 may assign him (R-RCS-2), then joins the
    # impound, checks in and declares for it.
    assignment = {"user_id": han.user_id, "role": "assisting"}
    undeclared = problem(jiang.post(f"{OFFICE}/cases/{CASE}/officers", assignment), 409, "recusal-not-declared")
    assert [m["user_id"] for m in undeclared["missing"]] == [han.user_id]
    declaration = {"conflict": False, "statement": "本人与当事人无利害关系"}
    ok(han.post(f"{OFFICE}/cases/{CASE}/handler-declarations", declaration), 201)
    ok(jiang.post(f"{OFFICE}/cases/{CASE}/officers", assignment), 201)
    ok(jiang.post(f"{OFFICE}/actions/{ACTION}/participants", {"user_id": han.user_id}), 201)
    assert ok(han.check_in(ACTION), 201)["allowed"] is True
    ok(han.show_certificate(ACTION), 201)
    assert ok(han.declare(ACTION), 201)["conflict"] is False

    # 3. The recording session opens before the start; only now can it start.
    session = {"id": str(uuid.uuid4()), "device_id": qian.device, "device_time": now().isoformat()}
    ok(qian.post(f"{MOBILE}/actions/{ACTION}/recording-sessions", session), 201)
    checklist = ok(qian.get(f"{MOBILE}/actions/{ACTION}"))
    assert checklist["ready_to_start"] is True, checklist["missing"]
    started = ok(qian.transition(ACTION, "start"))
    assert started["state"] == "in_progress"
    t0 = datetime.fromisoformat(started["started_at"])

    # Each seized item photographed; the itemised list signed by the party photographed too.
    for item in ("假冒注册商标白酒 24 瓶", "假冒注册商标香烟 10 条"):
        ok(han.capture(CASE, jpeg(item), kind="photo", media_type="image/jpeg", action_id=ACTION), 201)
    listed = ok(qian.capture(CASE, jpeg("扣押物品清单"), kind="photo", media_type="image/jpeg", action_id=ACTION), 201)

    # 4. 钱's phone records from before the start until its battery dies (t0+10 s); after the
    # swap it records again from t0+90 s to the end: an 80-second gap.
    before_swap = t0 - timedelta(seconds=2)
    after_swap = t0 + timedelta(seconds=10 + GAP_S)
    wait = (after_swap + timedelta(seconds=3) - now()).total_seconds()
    time.sleep(max(wait, 0))
    ended = ok(qian.transition(ACTION, "end"))
    assert ended["state"] == "ended"
    t_end = datetime.fromisoformat(ended["ended_at"])
    qian.upload_video(tmp_path, CASE, ACTION, _video(before_swap, 12), captured_at=before_swap)
    tail = (t_end - after_swap).total_seconds() + 2
    qian.upload_video(tmp_path, CASE, ACTION, _video(after_swap, tail), captured_at=after_swap)

    refused = problem(qian.transition(ACTION, "close"), 409, "video-coverage-incomplete")
    assert len(refused["gaps"]) == 1
    gap = refused["gaps"][0]
    assert gap["duration_s"] == pytest.approx(GAP_S, abs=1.5)
    reason = {"gap_start": gap["start"], "gap_end": gap["end"], "reason": "钱的执法记录仪电池耗尽，现场更换电池"}
    recorded = ok(qian.post(f"{MOBILE}/actions/{ACTION}/gap-reasons", reason), 201)
    problem(qian.transition(ACTION, "close"), 409, "video-coverage-incomplete")  # a reason alone is not enough
    # 蒋 finds it in his work queue, with who wrote it.
    waiting = ok(jiang.get(f"{OFFICE}/queues/gap-reasons"))["items"]
    mine = [item for item in waiting if item["reason_id"] == recorded["id"]]
    assert [(item["action_id"], item["recorded_by_name"]) for item in mine] == [(ACTION, qian.full_name)]
    approve = f"{OFFICE}/actions/{ACTION}/gap-reasons/{recorded['id']}/approve"
    problem(qian.post(approve), 403, "forbidden")  # only the supervisor approves
    approved = ok(jiang.post(approve))
    assert approved["approved_by"] == jiang.user_id
    assert recorded["id"] not in {item["reason_id"] for item in ok(jiang.get(f"{OFFICE}/queues/gap-reasons"))["items"]}
    closed = ok(qian.transition(ACTION, "close"))
    assert closed["state"] == "closed"

    # 5. 蒋's case timeline: check-ins, recusals, segments, the gap and its approval.
    events = [e["event"] for e in ok(jiang.get(f"{OFFICE}/cases/{CASE}/timeline", params={"limit": 1000}))["items"]]
    for expected in (
        "action.check_in",
        "recusal.declared",
        "recusal.removed",
        "recording.opened",
        "action.in_progress",
        "evidence.verified",
        "coverage.gap_reason",
        "coverage.gap_approved",
        "action.closed",
    ):
        assert expected in events, expected
    reports = ok(jiang.get(f"{OFFICE}/actions/{ACTION}/coverage/reports"))
    assert reports[-1]["complete"] is True
    assert reports[-1]["gaps"][0]["approved"] is True
    # Every object re-hashes to its recorded SHA-256.
    run = ok(jiang.post(f"{OFFICE}/cases/{CASE}/verification-runs"), 202)
    for _ in range(300):
        run = ok(jiang.get(f"{OFFICE}/custody/verification-runs/{run['id']}"))
        if run["status"] in ("finished", "failed"):
            break
        time.sleep(0.1)
    assert run["status"] == "finished", run
    assert run["mismatches"] == []
    assert run["total"] == 5  # the two seized items, the signed list, the two videos
    assert listed["evidence_id"] in {
        item["evidence"]["id"]
        for item in ok(jiang.get(f"{OFFICE}/cases/{CASE}/evidence-chain", params={"purpose": "扣押监督"}))["items"]
    }
