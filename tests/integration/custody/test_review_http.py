"""Supervisor review over HTTP: case timeline, evidence-chain report, re-verification."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.core.settings import Settings
from backend.ledger.service import append_event
from backend.ledger.tables import LedgerRow
from evidence.custody.objects import verify_objects
from evidence.store import ObjectStore

from .conftest import Scene, tamper_ledger


def flip_byte(settings: Settings, key: str, offset: int = 1000) -> Path:
    """Change one stored byte behind the store's back (disk corruption, an intruder)."""
    path = Path(settings.effective_store_url[len("file://") :]) / "data" / key
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))
    return path


@pytest.mark.requirement("R-REC-8")
async def test_timeline_pages_through_every_case_event_in_order(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    officer = await scene.person("officer")
    for i in range(250):  # field events of the same case, interleaved with another case's
        await append_event(
            event="checkin.recorded" if i % 2 else "recusal.declared",
            actor_id=officer.user.id,
            agency_id=scene.agency.id,
            subject_type="case",
            subject_id=str(scene.case_id),
            case_id=scene.case_id,
            details={"i": i},
        )
        await append_event(
            event="checkin.recorded", actor_id=None, agency_id=None, subject_type="case", subject_id="x", case_id=uuid.uuid4()
        )
    seen: list[int] = []
    cursor = ""
    pages = 0
    while True:
        response = await client.get(
            f"/api/v1/cases/{scene.case_id}/timeline?limit=100&cursor={cursor}", headers=await scene.h("supervisor")
        )
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["seq"] for item in body["items"]]
        assert all(item["case_id"] == str(scene.case_id) for item in body["items"])
        pages += 1
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    expected = [
        r["seq"] for r in await LedgerRow.select(LedgerRow.seq).where(LedgerRow.case_id == scene.case_id).order_by(LedgerRow.seq)
    ]
    assert seen == expected
    last = await LedgerRow.select(LedgerRow.event).where(LedgerRow.seq == seen[-1]).first()
    assert last == {"event": "custody.timeline_viewed"}  # opening the timeline is itself logged
    assert pages == -(-len(expected) // 100)


async def test_timeline_is_404_for_other_agencies_and_403_for_officers(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    # Another agency never learns the case exists; a colleague without the part is refused.
    for who, status in (("stranger", 404), ("officer", 403)):
        response = await client.get(f"/api/v1/cases/{scene.case_id}/timeline", headers=await scene.h(who))
        assert response.status_code == status, who
    bad = await client.get(f"/api/v1/cases/{scene.case_id}/timeline?cursor=abc", headers=await scene.h("supervisor"))
    assert bad.status_code == 422


@pytest.mark.requirement("R-REC-8")
async def test_evidence_chain_report_lists_capture_verification_and_accesses(
    client: AsyncTestClient[Litestar], scene: Scene
) -> None:
    item = scene.evidence[0]
    await client.get(f"/api/v1/evidence/{item.id}/content?purpose=hearing", headers=await scene.h("reviewer"))
    exported = await client.post(
        f"/api/v1/cases/{scene.case_id}/export", json={"purpose": "court"}, headers=await scene.h("reviewer")
    )
    assert exported.status_code == 200
    response = await client.get(f"/api/v1/cases/{scene.case_id}/evidence-chain", headers=await scene.h("supervisor"))
    assert response.status_code == 200
    report = response.json()
    assert report["entries_intact"] is True
    row = next(i for i in report["items"] if i["evidence"]["id"] == str(item.id))
    assert row["evidence"]["sha256"] == item.sha256
    assert row["captured_by"] == str((await scene.person("officer")).user.id)
    assert row["verification"] == "verified at reception"
    assert [e["event"] for e in row["custody"]][:3] == ["evidence.received", "evidence.verified", "evidence.attached"]
    assert [(e["event"], e["details"]["purpose"]) for e in row["accesses"]] == [
        ("evidence.downloaded", "hearing"),
        ("evidence.exported", "court"),
    ]


@pytest.mark.requirement("R-REC-8")
async def test_verification_run_reports_the_changed_object_with_its_location(
    client: AsyncTestClient[Litestar], scene: Scene, settings: Settings
) -> None:
    damaged = scene.evidence[0]
    flip_byte(settings, damaged.object_key)
    response = await client.post(f"/api/v1/cases/{scene.case_id}/verification-runs", headers=await scene.h("supervisor"))
    assert response.status_code == 202
    run_url = response.headers["location"]
    run = (await client.get(run_url, headers=await scene.h("supervisor"))).json()
    assert run["status"] == "finished"
    assert (run["done"], run["total"]) == (2, 2)
    assert len(run["mismatches"]) == 1
    mismatch = run["mismatches"][0]
    assert mismatch["evidence_id"] == str(damaged.id)
    assert mismatch["location"] == damaged.object_key
    assert mismatch["expected_sha256"] == damaged.sha256
    assert mismatch["actual_sha256"] not in (None, damaged.sha256)
    stranger = await client.get(run_url, headers=await scene.h("stranger"))
    assert stranger.status_code == 404
    chain = (await client.get(f"/api/v1/cases/{scene.case_id}/evidence-chain", headers=await scene.h("supervisor"))).json()
    verdicts = {i["evidence"]["id"]: i["verification"] for i in chain["items"]}
    assert verdicts == {str(damaged.id): "re-hash FAILED", str(scene.evidence[1].id): "re-hash ok"}


async def test_missing_object_is_reported(client: AsyncTestClient[Litestar], scene: Scene, settings: Settings) -> None:
    path = Path(settings.effective_store_url[len("file://") :]) / "data" / scene.evidence[1].object_key
    os.remove(path)
    response = await client.post(f"/api/v1/cases/{scene.case_id}/verification-runs", headers=await scene.h("reviewer"))
    run = (await client.get(response.headers["location"], headers=await scene.h("reviewer"))).json()
    assert [(m["location"], m["reason"]) for m in run["mismatches"]] == [
        (scene.evidence[1].object_key, "object missing from the store")
    ]


@pytest.mark.requirement("R-REC-7", "R-REC-8")
async def test_ledger_verification_endpoint_names_the_tampered_entry(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    ok = await client.post("/api/v1/custody/ledger/verify", headers=await scene.h("supervisor"))
    assert ok.status_code == 200
    assert ok.json()["ok"] is True
    victim = await LedgerRow.select(LedgerRow.seq).where(LedgerRow.event == "evidence.attached").first()
    assert victim is not None
    await tamper_ledger("UPDATE custody_ledger SET actor_id = NULL WHERE seq = {}", victim["seq"])
    report = (await client.post("/api/v1/custody/ledger/verify", headers=await scene.h("supervisor"))).json()
    assert report["ok"] is False
    assert report["first_broken"]["seq"] == victim["seq"]
    denied = await client.post("/api/v1/custody/ledger/verify", headers=await scene.h("officer"))
    assert denied.status_code == 403


@pytest.mark.requirement("R-REC-8")
async def test_verify_objects_for_the_cli_reports_location_and_logs_each_check(
    scene: Scene, settings: Settings, app_store: ObjectStore
) -> None:
    assert (await verify_objects(app_store)).ok
    damaged = scene.evidence[1]
    flip_byte(settings, damaged.object_key, offset=10)
    report = await verify_objects(app_store)
    assert (report.ok, report.objects_checked) == (False, 2)
    assert [(m.evidence_id, m.case_id, m.location) for m in report.mismatches] == [
        (damaged.id, scene.case_id, damaged.object_key)
    ]
    checks = await LedgerRow.select(LedgerRow.subject_id, LedgerRow.details).where(LedgerRow.event == "evidence.hash_checked")
    assert len(checks) == 4
    assert sum('"ok":false' in c["details"] for c in checks) == 1
