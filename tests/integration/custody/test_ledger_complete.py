"""A complete ledger (issue 15, point 2; R-REC-7): nothing can be taken out unnoticed.

TRUNCATE is refused on PostgreSQL; records whose entries were removed (by an owner who switched
the triggers off) are reported by ``verify-ledger``; a removed tail whose stored checkpoints
went with it is found against a checkpoint kept outside the server.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend import cli, ops
from backend.core import db
from backend.core.keys import KeyRing
from backend.ledger import service
from backend.ledger.checkpoint import make_checkpoint
from backend.ledger.tables import Checkpoint, LedgerRow
from backend.ledger.verify import verify_ledger
from tests import factories as make

from .conftest import Scene

pytestmark = pytest.mark.usefixtures("app")

_SQLITE_TRIGGERS = (
    "custody_ledger_no_update",
    "custody_ledger_no_delete",
    "custody_checkpoint_no_update",
    "custody_checkpoint_no_delete",
)


async def as_intruder(*statements: str) -> None:
    """Run SQL as an owner who switches the append-only triggers off (the suite is superuser)."""
    engine = db.current_engine()
    if db.is_postgres(engine):
        async with engine.transaction():
            await LedgerRow.raw("SET LOCAL session_replication_role = replica")
            for statement in statements:
                await LedgerRow.raw(statement)
    else:
        for trigger in _SQLITE_TRIGGERS:
            await LedgerRow.raw(f"DROP TRIGGER IF EXISTS {trigger}")
        for statement in statements:
            await LedgerRow.raw(statement)


async def _append(n: int) -> None:
    for i in range(n):
        await service.append_event(
            event="evidence.viewed",
            actor_id=None,
            agency_id=None,
            subject_type="evidence",
            subject_id=str(uuid.uuid4()),
            details={"i": i},
        )


async def _audit(keys: KeyRing, capsys: pytest.CaptureFixture[str], **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """``verify-ledger`` as the CLI runs it: exit status and the printed report."""
    capsys.readouterr()
    status = await ops.verify_ledger_complete(keys, **kwargs)
    return status, json.loads(capsys.readouterr().out)


async def _field_work(client: AsyncTestClient[Litestar]) -> None:
    """A case with an action: two officers checked in and declared (no conflict)."""
    team = await make.field_team(client)
    case = await make.open_case(team)
    await make.plan_action(team, case["id"], checked_in=("wang", "li"))


@pytest.mark.requirement("R-REC-7")
async def test_postgres_refuses_truncate_of_ledger_and_checkpoints(engine_kind: str, key_ring: KeyRing) -> None:
    if engine_kind != "postgres":
        pytest.skip("SQLite has no TRUNCATE; its row triggers are proven in test_ledger.py")
    await _append(2)
    await make_checkpoint(keys=key_ring)
    for statement in (
        "TRUNCATE custody_ledger, custody_checkpoint",
        "TRUNCATE custody_checkpoint",
        "TRUNCATE custody_ledger CASCADE",
    ):
        with pytest.raises(Exception, match="append-only: TRUNCATE refused"):
            await LedgerRow.raw(statement)
    with pytest.raises(Exception, match="append-only"):
        await Checkpoint.delete(force=True)
    assert (await LedgerRow.count(), await Checkpoint.count()) == (2, 1)


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_checkpoints_refuse_update_and_delete(key_ring: KeyRing) -> None:
    await _append(1)
    await make_checkpoint(keys=key_ring)
    with pytest.raises(Exception, match="append-only"):
        await Checkpoint.update({Checkpoint.seq: 9}, force=True)
    with pytest.raises(Exception, match="append-only"):
        await Checkpoint.delete(force=True)
    assert await Checkpoint.count() == 1


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7", "R-REC-8")
async def test_genuine_ledger_with_field_work_and_evidence_verifies_complete(
    client: AsyncTestClient[Litestar], scene: Scene, key_ring: KeyRing, capsys: pytest.CaptureFixture[str]
) -> None:
    await _field_work(client)
    await make_checkpoint(keys=key_ring)
    status, report = await _audit(key_ring, capsys)
    assert status == 0, report
    assert report["ok"]
    assert report["ledger"]["ok"]
    assert report["completeness"]["ok"]
    # 2 cases, 2 evidence items, 2 check-ins, 2 certificates shown (R-CERT-5), 7 declarations:
    # 2 for the action, and on the cases 4 by the handlers of one and 1 by the other's lead (R-RCS-2)
    assert report["completeness"]["records_checked"] == 15
    assert report["completeness"]["missing"] == []
    last = await LedgerRow.select().order_by(LedgerRow.seq, ascending=False).first()
    assert last is not None
    assert last["event"] == "ledger.verified"


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_emptied_ledger_reports_every_record_without_its_entries(
    client: AsyncTestClient[Litestar], scene: Scene, key_ring: KeyRing, capsys: pytest.CaptureFixture[str]
) -> None:
    await _field_work(client)
    await make_checkpoint(keys=key_ring)
    # What TRUNCATE did before issue 15: ledger and checkpoints emptied, domain rows kept.
    await as_intruder("DELETE FROM custody_ledger", "DELETE FROM custody_checkpoint")
    assert (await verify_ledger(keys=key_ring, record=False)).ok  # the chain alone cannot tell
    status, report = await _audit(key_ring, capsys)
    assert status == 1
    assert not report["ok"]
    completeness = report["completeness"]
    assert completeness["records_without_entries"] == 15
    kinds = sorted(item["kind"] for item in completeness["missing"])
    assert (
        kinds
        == ["case", "case", "certificate shown", "certificate shown", "check-in", "check-in", "evidence", "evidence"]
        + ["recusal declaration (field)"] * 7
    )
    evidence = {item["id"]: item["missing"] for item in completeness["missing"] if item["kind"] == "evidence"}
    assert evidence == {
        str(e.id): ["evidence.received", "evidence.verified", "evidence.attached", "evidence.metadata_extracted"]
        for e in scene.evidence
    }


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_removed_entries_of_one_record_are_named(
    client: AsyncTestClient[Litestar], scene: Scene, key_ring: KeyRing, capsys: pytest.CaptureFixture[str]
) -> None:
    await _field_work(client)
    check_ins = await LedgerRow.select(LedgerRow.seq, LedgerRow.subject_id).where(LedgerRow.subject_type == "check_in")
    target = check_ins[0]
    await as_intruder(f"DELETE FROM custody_ledger WHERE seq >= {int(target['seq'])}")  # noqa: S608 - an int
    status, report = await _audit(key_ring, capsys)
    assert status == 1
    missing = {(item["kind"], item["id"]): item["missing"] for item in report["completeness"]["missing"]}
    assert missing[("check-in", target["subject_id"])] == ["action.check_in or action.check_in_refused"]
    assert not any(kind in {"evidence", "case"} for kind, _ in missing)  # their entries came earlier


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_removed_tail_with_its_checkpoints_is_found_against_a_kept_checkpoint(key_ring: KeyRing) -> None:
    await _append(3)
    await make_checkpoint(keys=key_ring)
    await _append(2)
    kept = await make_checkpoint(keys=key_ring)  # someone keeps this one (export, published list)
    assert kept.seq == 5
    await as_intruder("DELETE FROM custody_ledger WHERE seq > 3", "DELETE FROM custody_checkpoint WHERE seq > 3")
    assert (await verify_ledger(keys=key_ring, record=False)).ok  # undetectable from inside
    report = await verify_ledger(keys=key_ring, record=False, published=[kept])
    assert not report.ok
    assert report.published_checked == 1
    assert len(report.checkpoint_problems) == 1
    assert "published checkpoint at seq 5" in report.checkpoint_problems[0]
    assert "the ledger ends at seq 3, 2 entries short (entries removed)" in report.checkpoint_problems[0]

    # The chain grows again and the server signs a new head: the kept one no longer matches,
    # and the new checkpoint, signed later over a shorter chain, went backwards.
    await _append(1)
    await make_checkpoint(keys=key_ring)
    problems = (await verify_ledger(keys=key_ring, record=False, published=[kept])).checkpoint_problems
    assert any("the ledger went backwards" in p and "checkpoint at seq 4" in p for p in problems), problems
    assert any("entries short" in p for p in problems), problems
    await _append(1)
    problems = (await verify_ledger(keys=key_ring, record=False, published=[kept])).checkpoint_problems
    assert any("published checkpoint at seq 5" in p and "(history rewritten)" in p for p in problems), problems


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_a_kept_checkpoint_of_a_genuine_ledger_verifies(key_ring: KeyRing, tmp_path: Path) -> None:
    await _append(3)
    kept = await make_checkpoint(keys=key_ring)
    await _append(2)
    await make_checkpoint(keys=key_ring)
    # The forms a checkpoint is kept in: one object (an export's checkpoint.json), a list, a listing.
    single, listing = tmp_path / "checkpoint.json", tmp_path / "checkpoints.json"
    single.write_bytes(msgspec.json.encode(kept))
    listing.write_bytes(msgspec.json.encode({"checkpoints": [kept]}))
    published = ops.read_checkpoints(single) + ops.read_checkpoints(listing)
    assert published == [kept, kept]
    report = await verify_ledger(keys=key_ring, record=False, published=published)
    assert report.ok, report
    assert report.published_checked == 2


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_forged_kept_checkpoint_is_reported(key_ring: KeyRing) -> None:
    await _append(2)
    kept = await make_checkpoint(keys=key_ring)
    forged = msgspec.structs.replace(kept, head_hash="ab" * 32)
    problems = (await verify_ledger(keys=key_ring, record=False, published=[forged])).checkpoint_problems
    assert any("signature does not verify" in p for p in problems), problems
    assert any("(history rewritten)" in p for p in problems), problems


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_export_entry_without_its_checkpoint_is_reported(key_ring: KeyRing, capsys: pytest.CaptureFixture[str]) -> None:
    await service.append_event(
        event="evidence.exported", actor_id=None, agency_id=None, subject_type="case", subject_id=str(uuid.uuid4())
    )
    status, report = await _audit(key_ring, capsys)
    assert status == 1
    assert report["completeness"]["problems"] == [
        "export entry at seq 1 has no checkpoint covering it (no checkpoint): checkpoints removed"
    ]
    await make_checkpoint(keys=key_ring)
    status, report = await _audit(key_ring, capsys)
    assert status == 0, report


def test_unreadable_checkpoint_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "checkpoint.json"
    bad.write_text('{"seq": "five"}')
    assert cli.main(["verify-ledger", "--checkpoint", str(bad)]) == 2
    assert "checkpoint file" in capsys.readouterr().err
    assert cli.main(["verify-ledger", "--checkpoint", str(tmp_path / "absent.json")]) == 2
