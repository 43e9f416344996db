"""Problem answers over HTTP: zh-CN title and detail by default, English on request (issue 15, point 9)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import MakePerson

CJK = re.compile("[\u4e00-\u9fff]")


@pytest.fixture
async def officer_headers(make_person: MakePerson, auth_headers: Any) -> dict[str, str]:
    headers: dict[str, str] = await auth_headers(await make_person(["officer"]))
    return headers


def _requests(case_id: uuid.UUID) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request keywords): a 404 with a value in its detail, the input policy's
    422, msgspec's 400 naming an unknown member, a 401 and a 404 of an unknown path."""
    return [
        ("GET", f"/api/v1/cases/{case_id}", {}),
        ("POST", "/api/v1/cases", {"json": {"title": "a\u0000b"}}),
        ("POST", "/api/v1/auth/login", {"json": {"username": "x", "password": "y", "extra": 1}, "anonymous": True}),
        ("GET", "/api/v1/cases", {"anonymous": True}),
        ("GET", "/api/v1/no-such-thing", {}),
    ]


async def test_problems_are_chinese_by_default_and_english_on_request(
    client: AsyncTestClient[Litestar], officer_headers: dict[str, str]
) -> None:
    case_id = uuid.uuid4()
    for method, path, options in _requests(case_id):
        anonymous = options.pop("anonymous", False)
        base = {} if anonymous else dict(officer_headers)
        zh = await client.request(method, path, headers=base, **options)
        en = await client.request(method, path, headers={**base, "Accept-Language": "en"}, **options)
        assert zh.status_code == en.status_code >= 400, (path, zh.text)
        assert (zh.headers["content-language"], en.headers["content-language"]) == ("zh-CN", "en")
        zh_problem, en_problem = zh.json(), en.json()
        assert zh_problem["type"] == en_problem["type"]
        assert CJK.search(zh_problem["title"]), zh_problem
        assert CJK.search(zh_problem["detail"]), zh_problem
        assert not CJK.search(en_problem["title"]), en_problem
        assert not CJK.search(en_problem["detail"]), en_problem
        if path.endswith(str(case_id)):
            assert str(case_id) in zh_problem["detail"]  # the values stay in the Chinese detail
