"""A JSON body holds the types its schema documents: no 0 for a date-time or a boolean (issue 15, point 8).

Found by ``make fuzz`` (schemathesis' negative data): Litestar converts a route's arguments
leniently, so ``"device_time": 0`` was the epoch and ``"card_recovered": 0`` was false.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import MakePerson

RECUSALS = "/api/mobile/v1/actions/{}/recusals"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"conflict": False, "device_time": 0}, "device_time"),
        ({"conflict": 0, "device_time": "2026-05-01T09:30:00+08:00"}, "conflict"),
        ({"conflict": "false", "device_time": "2026-05-01T09:30:00+08:00"}, "conflict"),
    ],
)
async def test_a_value_of_another_json_type_is_refused_naming_the_field(
    client: AsyncTestClient[Litestar], make_person: MakePerson, auth_headers: Any, body: dict[str, Any], field: str
) -> None:
    headers = await auth_headers(await make_person(["officer"]))
    response = await client.post(RECUSALS.format(uuid.uuid4()), headers=headers, json={"id": str(uuid.uuid4()), **body})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert (problem["type"], problem["field"]) == ("/problems/validation-error", field)
    assert problem["errors"][0]["source"] == "body"


async def test_strings_for_dates_and_ids_pass_to_the_route(
    client: AsyncTestClient[Litestar], make_person: MakePerson, auth_headers: Any
) -> None:
    # The type check lets the documented forms through: the route then answers (an unknown action: 404).
    headers = await auth_headers(await make_person(["officer"]))
    body = {"id": str(uuid.uuid4()), "conflict": False, "device_time": "2026-05-01T09:30:00+08:00"}
    response = await client.post(RECUSALS.format(uuid.uuid4()), headers=headers, json=body)
    assert response.status_code == 404, response.text


def test_an_integral_number_is_an_integer() -> None:
    # JSON Schema's integer includes 27.0 (schemathesis sends it as valid data): it passes the check.
    from backend.core.http.input import _integral

    assert _integral({"days": 27.0, "items": [1.0, 2.5], "name": "x"}) == {"days": 27, "items": [1, 2.5], "name": "x"}
