"""The impound scenario (docs/DEMO.md, day 2) end to end through the HTTP API.

The app runs in-process (Litestar's ASGI test client over the full HTTP stack) because the
scenario moves the server clock: a 30-second recording gap needs 30 seconds of server time,
which ``frozen_clock`` provides without sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.core import clock
from backend.ledger.tables import LedgerRow
from certificates import transitions as certificate_transitions
from tests.factories import MOBILE, OFFICE, check_in, declare, field_team, open_case, plan_action, show_certificate
from tests.integration.evidence.media_factory import mp4
from tests.integration.field.field_helpers import problem, stamp, upload_video


def _tag(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-4", "R-CERT-5", "R-RCS-1", "R-RCS-3", "R-RCS-4", "R-REC-2", "R-REC-3", "R-REC-4", "R-DISC-6")
async def test_impound_with_suspended_officer_conflict_and_video_gap(client):
    f = await field_team(client)
    zhou, zhao = f.people["zhou"], f.people["zhao"]
    await certificate_transitions.suspend_holder(
        actor_id=zhou.user.id,
        actor_agency_id=f.agency.id,
        holder_id=zhao.user.id,
        reason="违规执法",
        rule_breached="责任制 Art.12",
        document_ref="暂扣决定〔2026〕1号",
        until=None,
    )
    t0 = (datetime.now(UTC) - timedelta(seconds=400)).replace(microsecond=0)
    with clock.frozen_clock(t0 - timedelta(seconds=60)):
        case = await open_case(f)
        action = await plan_action(f, case["id"], participants=("wang", "li", "zhao"))
        aid = action["id"]
        assert action["requires_av"] is True

        # 赵's certificate is suspended: refused with the reason, and the refusal is stored.
        refused = problem(await check_in(f, "zhao", aid), 409, "certificate-suspended")
        assert refused["reason"] == "suspended"
        for name in ("wang", "li"):
            assert (await check_in(f, name, aid)).status_code == 201

        # 李 declares a conflict (close relative of the party): removed from the action and case.
        assert (await declare(f, "wang", aid)).status_code == 201
        conflict = await declare(f, "li", aid, ground="close_relative")
        assert conflict.status_code == 201
        assert conflict.json()["conflict"] is True
        detail = (await client.get(f"{OFFICE}/actions/{aid}", headers=f.h("liu"))).json()
        li = next(p for p in detail["participants"] if p["user_id"] == f.uid("li"))
        assert li["removed"] is True
        case_now = (await client.get(f"{OFFICE}/cases/{case['id']}", headers=f.h("liu"))).json()
        assert next(o for o in case_now["officers"] if o["user_id"] == f.uid("li"))["removed"] is True
        readd = await client.post(f"{OFFICE}/actions/{aid}/participants", json={"user_id": f.uid("li")}, headers=f.h("liu"))
        problem(readd, 409, "conflict")

        # The start gate lists exactly what is missing.
        blocked = problem(
            await client.post(f"{MOBILE}/actions/{aid}/start", json=stamp(), headers=f.h("wang")), 409, "action-start-blocked"
        )
        codes = sorted(m["code"] for m in blocked["missing"])
        assert codes == ["check_ins", "coercion_reason", "recording_session", "recusal_declaration"]
        assert next(m for m in blocked["missing"] if m["code"] == "recusal_declaration")["user_id"] == f.uid("zhao")

        # A replacement joins, checks in and declares; 赵 declares; the reason and recording are recorded.
        added = await client.post(f"{OFFICE}/actions/{aid}/participants", json={"user_id": f.uid("qian")}, headers=f.h("liu"))
        assert added.status_code == 201, added.text
        assert (await check_in(f, "qian", aid)).status_code == 201
        assert (await declare(f, "qian", aid)).status_code == 201
        assert (await declare(f, "zhao", aid)).status_code == 201
        reason = {"reason": "当事人拒不停止销售，责令改正无效，不扣押将继续流入市场"}
        assert (await client.post(f"{OFFICE}/actions/{aid}/coercion-reason", json=reason, headers=f.h("wang"))).status_code == 200
        session = {
            "id": "6f0d8a52-55a3-4c1b-9a31-1d2a3e4f5a60",
            "device_id": "phone-wang",
            "device_time": clock.now().isoformat(),
        }
        assert (
            await client.post(f"{MOBILE}/actions/{aid}/recording-sessions", json=session, headers=f.h("wang"))
        ).status_code == 201
        checklist = (await client.get(f"{MOBILE}/actions/{aid}", headers=f.h("wang"))).json()
        assert checklist["ready_to_start"] is True
        assert checklist["missing"] == []

    with clock.frozen_clock(t0):
        started = await client.post(f"{MOBILE}/actions/{aid}/start", json=stamp(), headers=f.h("wang"))
        assert started.status_code == 200, started.text
        assert started.json()["state"] == "in_progress"
        # R-CERT-5: each officer still on the action records showing the certificate verified at check-in.
        for name in ("wang", "qian"):
            assert (await show_certificate(f, name, aid)).status_code == 201

    # Two phones: 王 records [t0-2, t0+20], 钱 records [t0+50, t0+62]: a 30 s gap in between.
    with clock.frozen_clock(t0 + timedelta(seconds=60)):
        ended = await client.post(f"{MOBILE}/actions/{aid}/end", json=stamp(), headers=f.h("qian"))
        assert ended.status_code == 200, ended.text
    with clock.frozen_clock(t0 + timedelta(seconds=70)):
        for name, begin, seconds in (("wang", -2, 22), ("qian", 50, 12)):
            start = t0 + timedelta(seconds=begin)
            video = mp4(seconds=seconds, creation_time=_tag(start))
            uploaded = await upload_video(f, name, case["id"], aid, video, captured_at=start)
            assert uploaded.status_code == 201, uploaded.text

        closing = await client.post(f"{MOBILE}/actions/{aid}/close", json=stamp(), headers=f.h("wang"))
        body = problem(closing, 409, "video-coverage-incomplete")
        assert len(body["gaps"]) == 1
        gap = body["gaps"][0]
        assert gap["duration_s"] == pytest.approx(30, abs=0.5)
        assert gap["flag"] == "av_gap"

        explained = {
            "gap_start": (t0 + timedelta(seconds=19)).isoformat(),
            "gap_end": (t0 + timedelta(seconds=51)).isoformat(),
            "reason": "王的手机电量耗尽，更换电池",
        }
        recorded = await client.post(f"{MOBILE}/actions/{aid}/gap-reasons", json=explained, headers=f.h("wang"))
        assert recorded.status_code == 201, recorded.text
        reason_id = recorded.json()["id"]
        problem(
            await client.post(f"{MOBILE}/actions/{aid}/close", json=stamp(), headers=f.h("wang")),
            409,
            "video-coverage-incomplete",
        )
        # Only a supervisor approves.
        problem(
            await client.post(f"{OFFICE}/actions/{aid}/gap-reasons/{reason_id}/approve", headers=f.h("wang")), 403, "forbidden"
        )
        approved = await client.post(f"{OFFICE}/actions/{aid}/gap-reasons/{reason_id}/approve", headers=f.h("liu"))
        assert approved.status_code == 200
        assert approved.json()["approved_by"] == f.uid("liu")

        closed = await client.post(f"{MOBILE}/actions/{aid}/close", json=stamp(), headers=f.h("wang"))
        assert closed.status_code == 200, closed.text
        assert closed.json()["state"] == "closed"
        assert [t["to_state"] for t in closed.json()["transitions"]] == ["in_progress", "ended", "closed"]

    reports = (await client.get(f"{OFFICE}/actions/{aid}/coverage/reports", headers=f.h("liu"))).json()
    assert [r["complete"] for r in reports] == [False, False, True]
    assert reports[-1]["gaps"][0]["approved"] is True

    # Every step is on the case timeline (the custody ledger filtered by case).
    events = [
        r["event"] for r in await LedgerRow.select(LedgerRow.event).where(LedgerRow.case_id == case["id"]).order_by(LedgerRow.seq)
    ]
    for expected in (
        "case.opened",
        "action.planned",
        "action.check_in_refused",
        "action.check_in",
        "recusal.declared",
        "recusal.removed",
        "recording.opened",
        "action.in_progress",
        "action.ended",
        "coverage.gap_reason",
        "coverage.gap_approved",
        "action.closed",
    ):
        assert expected in events, expected
