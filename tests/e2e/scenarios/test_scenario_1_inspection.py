"""Scenario 1 — routine inspection of a restaurant (行政检查), played on the demo over HTTP.

王 and 李 see today's inspection and their valid certificates on the phone, check in at the
restaurant, declare no conflict, start, photograph the kitchen and record an audio note, show
the party 王's certificate QR (the party's phone opens the public verify page), end and close
the action and file the inspection record. Failure branches: 赵 (certificate suspended) is
refused at check-in; the network drops during a photo upload and the retry with the same
Idempotency-Key makes one record.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest

from backend.demo.today import MARKET_ROUTINE_ACTION, RESTAURANT_ACTION, RESTAURANT_CASE
from tests.e2e.scenarios.town import MOBILE, OFFICE, Town, jpeg, ok, problem
from tests.integration.evidence.media_factory import wav

pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTION, CASE = str(RESTAURANT_ACTION), str(RESTAURANT_CASE)


def _send_and_lose_the_answer(town: Town, request: httpx.Request) -> None:
    """The phone sends the whole photo, then loses 4G before the answer arrives."""
    url = urlparse(town.url)
    body = request.read()
    head = f"POST {request.url.raw_path.decode()} HTTP/1.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "connection")
    head += "Connection: close\r\n\r\n"
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1") + body)
    # Deliberately not reading: the answer is lost with the connection.


def _retry(town: Town, request: httpx.Request) -> httpx.Response:
    """The app sends the same request again, same Idempotency-Key, until it gets an answer
    (409 request-in-progress: the first one is still running on the server)."""
    for _ in range(100):
        answer = town.http.send(request)
        if answer.status_code != 409:
            return answer
        time.sleep(0.1)
    raise AssertionError("the first upload never finished")


@pytest.mark.requirement("R-CERT-2", "R-CERT-4", "R-CERT-5", "R-RCS-3", "R-REC-1", "R-REC-5")
def test_routine_inspection_of_a_restaurant(town: Town) -> None:
    wang, li = town["wang"], town["li"]

    # 1. The phone's `me`: certificate valid, today's inspection at 09:30 in 新绛.
    for officer in (wang, li):
        me = ok(officer.get(f"{MOBILE}/me"))
        assert me["certificate"]["any_valid"] is True
        assert [c["status"] for c in me["certificate"]["items"]] == ["active"]
        todays = {a["id"]: a for a in me["todays_actions"]}
        assert ACTION in todays
        planned = datetime.fromisoformat(todays[ACTION]["planned_at"]).astimezone(SHANGHAI)
        assert (planned.hour, planned.minute) == (9, 30)

    # Failure branch: 赵's certificate was suspended last month — refused, and the refusal stored.
    zhao = town["zhao"]
    refused = problem(zhao.check_in(str(MARKET_ROUTINE_ACTION)), 409, "certificate-suspended")
    assert refused["reason"] == "suspended"

    # 2–3. Both check in at the restaurant (certificate verified), show their certificates
    # (R-CERT-5) and declare no conflict.
    for officer in (wang, li):
        checked = ok(officer.check_in(ACTION), 201)
        assert checked["allowed"] is True
        assert checked["certificate_id"] is not None
        assert ok(officer.show_certificate(ACTION), 201)["check_in_id"] == checked["id"]
    blocked = problem(wang.transition(ACTION, "start"), 409, "action-start-blocked")
    assert {m["code"] for m in blocked["missing"]} == {"recusal_declaration"}
    for officer in (wang, li):
        assert ok(officer.declare(ACTION), 201)["conflict"] is False
    started = ok(wang.transition(ACTION, "start"))
    assert started["state"] == "in_progress"

    # 4. Photos of the kitchen (EXIF time and GPS) and an audio note.
    kitchen = jpeg("后厨操作间")
    photo = ok(wang.capture(CASE, kitchen, kind="photo", media_type="image/jpeg", action_id=ACTION), 201)
    evidence = ok(wang.get(f"{MOBILE}/evidence/{photo['evidence_id']}"))
    assert evidence["status"] == "verified"
    assert evidence["sha256"] == photo["sha256"]
    note = ok(li.capture(CASE, wav(seconds=1.0), kind="audio", media_type="audio/wav", action_id=ACTION), 201)
    assert note["media_type"].startswith("audio/")

    # Failure branch: the network drops during a photo upload; the retry makes one record.
    cold_room = jpeg("冷藏间")
    upload = li.capture_request(CASE, cold_room, kind="photo", media_type="image/jpeg", action_id=ACTION)
    _send_and_lose_the_answer(town, upload)
    first = ok(_retry(town, upload), 201)
    again = town.http.send(upload)
    assert again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["evidence_id"] == first["evidence_id"]
    chain = ok(town["liu"].get(f"{OFFICE}/cases/{CASE}/evidence-chain", params={"purpose": "日常监督"}))
    hashes = [item["evidence"]["sha256"] for item in chain["items"] if item["evidence"]["action_id"] == ACTION]
    assert hashes.count(first["sha256"]) == 1
    assert len(hashes) == 3  # the kitchen, the audio note, the cold room: nothing twice

    # 5. The party is shown 王's certificate QR; the party's phone opens the public verify page.
    mine = ok(wang.get(f"{MOBILE}/certificates"))
    certificate_id = mine["items"][0]["id"]
    credential = ok(wang.get(f"{MOBILE}/certificates/{certificate_id}/credential"))
    qr = wang.get(f"{MOBILE}/certificates/{certificate_id}/qr.svg")
    assert qr.status_code == 200
    assert qr.headers["content-type"].startswith("image/svg+xml")
    verify_url = urlparse(credential["verify_url"])
    token = parse_qs(verify_url.query)["token"][0] if verify_url.query else credential["token"]
    party_view = ok(town.public("/public/v1/certificates/verify", params={"token": token}))
    assert party_view["valid"] is True
    assert party_view["holder_name"] == wang.full_name
    assert party_view["agency_name"] == "新绛县综合行政执法局"

    # 6. Nothing wrong found: the action ends and closes; the case is closed with the inspection
    # record. Each stage keeps its paper (R-REC-1): the morning's task sheet, the action's photos,
    # the signed inspection record with its conclusion, the notice of the result served.
    assert ok(wang.transition(ACTION, "end"))["state"] == "ended"
    assert ok(wang.transition(ACTION, "close"))["state"] == "closed"
    records = ok(wang.get(f"{OFFICE}/cases/{CASE}/records"))
    assert {r["stage"] for r in records} == {"initiation", "investigation"}  # the photos are listed too
    for title, next_stage in (
        (None, "review_decision"),
        ("现场检查笔录（未发现违法行为）", "service_execution"),
        ("检查结果告知书送达回证", "archived"),
    ):
        if next_stage == "archived":
            # Closing too early answers everything still missing at once.
            early = problem(wang.post(f"{OFFICE}/cases/{CASE}/stage", {"to_stage": "archived"}), 409, "case-close-blocked")
            assert [m["code"] for m in early["missing"]] == ["stage_record"]
        if title is not None:
            paper = ok(wang.capture(CASE, jpeg(title), kind="photo", media_type="image/jpeg"), 201)
            record = {"title": title, "kind": "document", "evidence_id": paper["evidence_id"]}
            ok(wang.post(f"{OFFICE}/cases/{CASE}/records", record), 201)
        ok(wang.post(f"{OFFICE}/cases/{CASE}/stage", {"to_stage": next_stage}))
    closed = ok(wang.get(f"{OFFICE}/cases/{CASE}"))
    assert closed["stage"] == "archived"
    assert closed["archived_at"] is not None
