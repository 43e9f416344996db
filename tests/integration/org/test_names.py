"""Names beside ids (issue 14, point 5): every answer naming a person says who it is, in one query."""

from __future__ import annotations

from typing import Any

import pytest

from backend.core import clock, rows
from backend.field import schemas as field_schemas
from backend.org import names
from tests.factories import MOBILE, OFFICE, field_team, open_case, person, plan_action


@pytest.fixture
async def f(client):
    return await field_team(client)


@pytest.mark.both_engines
async def test_officer_sees_colleagues_names_and_roles_on_a_shared_case(f):
    case = await open_case(f, assisting=("li",))
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li"), checked_in=("wang", "li"))
    # 李, an assisting officer, reads the case and the action they share with 王.
    read = (await f.client.get(f"{OFFICE}/cases/{case['id']}", headers=f.h("li"))).json()
    officers = {o["user_id"]: o for o in read["officers"]}
    wang = f.people["wang"].user
    assert officers[str(wang.id)]["user_name"] == wang.full_name
    assert officers[str(wang.id)]["user_role"] == "officer"
    assert officers[str(wang.id)]["role"] == "lead"  # the case role is kept as it was
    detail = (await f.client.get(f"{OFFICE}/actions/{action['id']}", headers=f.h("li"))).json()
    assert {p["user_name"] for p in detail["participants"]} == {wang.full_name, f.people["li"].user.full_name}
    declarations = (await f.client.get(f"{OFFICE}/cases/{case['id']}/recusals", headers=f.h("liu"))).json()
    assert {(d["user_id"], d["user_name"]) for d in declarations} == {
        (f.uid(n), f.people[n].user.full_name) for n in ("wang", "li")
    }


@pytest.mark.both_engines
async def test_recusal_request_names_target_and_decider_with_their_roles(f):
    case = await open_case(f, assisting=("li",))
    request = {
        "target_user_id": f.uid("li"),
        "raised_by_kind": "party",
        "raised_by_name": "张三",
        "ground": "other_relationship",
        "reasons": "李某与当事人有经济纠纷",
    }
    raised = await f.client.post(f"{OFFICE}/cases/{case['id']}/recusal-requests", json=request, headers=f.h("wang"))
    assert raised.status_code == 201, raised.text
    assert raised.json()["target_user_name"] == f.people["li"].user.full_name
    assert raised.json()["decided_by"] is None
    assert raised.json()["decided_by_name"] is None
    url = f"{OFFICE}/cases/{case['id']}/recusal-requests/{raised.json()['id']}/decision"
    decided = await f.client.post(url, json={"upheld": False, "reasons": "理由不成立"}, headers=f.h("liu"))
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert (body["decided_by"], body["decided_by_name"], body["decided_by_role"]) == (
        f.uid("liu"),
        f.people["liu"].user.full_name,
        "supervisor",
    )


async def test_a_page_of_answers_resolves_every_person_in_one_query(database, monkeypatch):
    """Fifty officers on ten cases: one lookup, not fifty (names are read in bulk)."""
    people = [await person() for _ in range(5)]
    calls: list[Any] = []
    real = rows.fetch_all

    async def counting(kind: Any, query: Any) -> Any:
        calls.append(query)
        return await real(kind, query)

    monkeypatch.setattr(names, "fetch_all", counting)
    officers = [
        field_schemas.CaseOfficerOut(
            id=p.user.id,
            user_id=p.user.id,
            role="assisting",
            function="investigation",
            removed=False,
            removed_reason="",
            assigned_at=clock.now(),
        )
        for p in people
    ]
    answer = [list(officers) for _ in range(10)]
    filled = await names.with_names(answer)
    assert len(calls) == 1
    assert [o.user_name for o in filled[3]] == [p.user.full_name for p in people]
    assert all(o.user_name is None for o in answer[0])  # the original answer is not changed


def test_a_struct_declaring_a_person_without_its_name_fields_is_refused():
    import msgspec

    class Broken(msgspec.Struct, kw_only=True):
        PEOPLE = ("owner_id",)
        owner_id: str

    with pytest.raises(TypeError, match="owner_name"):
        names.people_in(Broken(owner_id="x"))


async def test_phone_checklist_names_who_checked_in_and_who_still_must_declare(f):
    case = await open_case(f, assisting=("li",))
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li"), checked_in=("wang",))
    checklist = (await f.client.get(f"{MOBILE}/actions/{action['id']}", headers=f.h("wang"))).json()
    assert checklist["checked_in_user_ids"] == [f.uid("wang")]
    assert checklist["checked_in_user_names"] == [f.people["wang"].user.full_name]
    assert checklist["recusals_missing_user_ids"] == [f.uid("li")]
    assert (checklist["recusals_missing_user_names"], checklist["recusals_missing_user_roles"]) == (
        [f.people["li"].user.full_name],
        ["officer"],
    )
