"""Finding evidence by case, action, officer or time (R-REC-8, issue 14 point 6) over HTTP:
filters combine, pages follow a stable cursor, the agency's own evidence only."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.factories import MOBILE, OFFICE, Field, field_team, open_case, plan_action
from tests.integration.field.field_helpers import problem

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in 新绛


def _pdf() -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + os.urandom(2000) + b"\n%%EOF"


async def _capture(f: Field, name: str, case_id: str, at: datetime, action_id: str | None = None) -> str:
    data = _pdf()
    params: dict[str, Any] = {
        "case_id": case_id,
        "kind": "document",
        "sha256": hashlib.sha256(data).hexdigest(),
        "captured_at": at.isoformat(),
        "device_id": f"phone-{name}",
    }
    if action_id:
        params["action_id"] = action_id
    headers = {**f.h(name), "Content-Type": "application/pdf"}
    response = await f.client.post(f"{MOBILE}/evidence", params=params, content=data, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["evidence_id"])


@pytest.fixture
async def found(client: AsyncTestClient[Litestar]) -> tuple[Field, dict[str, Any]]:
    f = await field_team(client)
    await f.join("sun", ("legal_reviewer",))
    case = await open_case(f, assisting=("li",))
    other = await open_case(f, assisting=("li",))
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li"), checked_in=("wang", "li"))
    ids = {
        "wang_case": await _capture(f, "wang", case["id"], T0),
        "li_action": await _capture(f, "li", case["id"], T0 + timedelta(hours=1), action["id"]),
        "wang_action": await _capture(f, "wang", case["id"], T0 + timedelta(hours=2), action["id"]),
        "wang_other": await _capture(f, "wang", other["id"], T0 + timedelta(hours=3)),
    }
    return f, {"case": case["id"], "other": other["id"], "action": action["id"], "ids": ids}


async def _find(f: Field, who: str = "liu", **params: Any) -> Any:
    return await f.client.get(f"{OFFICE}/evidence", params=params, headers=f.h(who))


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-8")
async def test_supervisor_finds_evidence_by_case_action_officer_or_time(found):
    f, s = found
    ids = s["ids"]
    assert _ids(await _find(f, case_id=s["case"])) == [ids["wang_case"], ids["li_action"], ids["wang_action"]]
    assert _ids(await _find(f, action_id=s["action"])) == [ids["li_action"], ids["wang_action"]]
    assert _ids(await _find(f, officer_id=f.uid("li"))) == [ids["li_action"]]
    window = {"from": (T0 + timedelta(minutes=30)).isoformat(), "to": (T0 + timedelta(hours=3)).isoformat()}
    assert _ids(await _find(f, **window)) == [ids["li_action"], ids["wang_action"]]  # `to` is exclusive
    assert _ids(await _find(f, officer_id=f.uid("wang"), **window)) == [ids["wang_action"]]  # filters combine
    # The legal reviewer finds the same; each item says who captured it.
    by_reviewer = await _find(f, "sun", officer_id=f.uid("li"))
    item = by_reviewer.json()["items"][0]
    assert (item["uploader_id"], item["uploader_name"], item["uploader_role"]) == (
        f.uid("li"),
        f.people["li"].user.full_name,
        "officer",
    )


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-8")
async def test_cursor_pages_cover_every_item_once_in_capture_order(found):
    f, s = found
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await _find(f, **params)).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2
    assert seen == list(s["ids"].values())


async def test_only_reviewers_search_and_only_their_agency(found, client):
    f, s = found
    problem(await _find(f, "wang", case_id=s["case"]), 403, "forbidden")
    problem(await _find(f, "zhou"), 403, "forbidden")
    stranger = await field_team(client)
    assert _ids(await _find(stranger, case_id=s["case"])) == []
    assert _ids(await _find(stranger)) == []
    assert (await f.client.get(f"{OFFICE}/evidence")).status_code == 401


async def test_bad_cursor_or_reversed_range_is_422_naming_the_field(found):
    f, _ = found
    assert problem(await _find(f, cursor="not-a-cursor"), 422, "invalid-input")["field"] == "cursor"
    backwards = {"from": (T0 + timedelta(hours=2)).isoformat(), "to": T0.isoformat()}
    assert problem(await _find(f, **backwards), 422, "invalid-input")["field"] == "to"
    assert (await _find(f, limit=0)).status_code == 400
    assert (await _find(f, officer_id="nobody")).status_code == 400
