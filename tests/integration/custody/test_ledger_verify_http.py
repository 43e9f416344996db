"""The office's ledger check reports completeness as ``fieldproof verify-ledger`` does (R-REC-7)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.ledger.tables import LedgerRow

from .conftest import Scene
from .test_ledger_complete import as_intruder

VERIFY = "/api/v1/custody/ledger/verify"


@pytest.mark.requirement("R-REC-7")
async def test_an_emptied_ledger_fails_the_office_check(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    headers = await scene.h("supervisor")
    healthy = (await client.post(VERIFY, headers=headers)).json()
    assert healthy["ok"] is True
    assert healthy["completeness"]["ok"] is True
    assert healthy["completeness"]["records_checked"] >= 3  # the case and its two evidence items

    # Every entry taken out (an owner who switched the triggers off): a consistent empty chain.
    await as_intruder("DELETE FROM custody_ledger")
    assert await LedgerRow.count() == 0
    report = (await client.post(VERIFY, headers=headers)).json()
    assert report["first_broken"] is None  # the chain itself is consistent …
    assert report["ok"] is False  # … but the records show what was taken out
    completeness = report["completeness"]
    assert completeness["ok"] is False
    assert completeness["records_without_entries"] >= 3
    assert completeness["missing"] == []  # listed by the CLI on the server, not to one agency
    # The check itself is recorded in the ledger.
    assert [row["event"] for row in await LedgerRow.select(LedgerRow.event)] == ["ledger.verified"]
