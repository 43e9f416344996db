"""Every route documents its errors one way: application/problem+json with the Problem schema,
the problem types per status named from the domain error classes (backend.core.http.openapi)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.app import create_app
from backend.core.errors import Conflict, DuplicateValue, IllegalTransition, NotFound, RequestNotValid
from backend.core.http.openapi import SIGNED_IN, problems
from backend.core.http.problems import PROBLEM_JSON
from backend.core.settings import Settings


def test_problems_groups_types_by_status_once_each():
    responses = problems(SIGNED_IN, (NotFound, IllegalTransition), DuplicateValue, Conflict, NotFound)
    # Every route (EVERY_ROUTE): 503 database, 400 malformed framing, 422 invalid text;
    # SIGNED_IN: 401 and 403 (a role or part its access rule needs).
    assert sorted(responses) == [400, 401, 403, 404, 409, 422, 503]
    conflict = responses[409]
    assert conflict.media_type == PROBLEM_JSON
    assert conflict.description == "Conflict: `conflict`, `duplicate`, `illegal-transition`"
    assert [e.id for e in conflict.examples or []] == ["conflict", "duplicate", "illegal-transition"]
    example = (conflict.examples or [])[2].value
    assert isinstance(example, dict)
    assert example["type"] == "/problems/illegal-transition"


def test_a_status_outside_iana_still_gets_a_description():
    class Odd(RequestNotValid):
        status = 460
        slug = "odd"
        title = "Odd"

    assert problems(Odd)[460].description == "HTTP 460: `odd`"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    data: Path = tmp_path_factory.mktemp("openapi")
    settings = Settings(data_dir=str(data), database_url=f"sqlite:///{data}/x.sqlite3", key_dir=str(data / "keys"))
    return create_app(settings).openapi_schema.to_schema()


def _operations(document: dict) -> Iterator[tuple[str, dict]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield f"{method.upper()} {path}", operation


def test_every_error_answer_is_documented_as_a_problem(document):
    checked = 0
    for name, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            assert list(response["content"]) == [PROBLEM_JSON], f"{name} {status}"
            assert response["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}, name
            assert response["content"][PROBLEM_JSON]["examples"], f"{name} {status}"
            checked += 1
    assert checked > 200


def test_routes_with_input_document_the_validation_problem(document):
    for name, operation in _operations(document):
        if operation.get("parameters") or operation.get("requestBody"):
            response = operation["responses"].get("400")
            assert response is not None, name
            assert "validation-error" in response["content"][PROBLEM_JSON]["examples"], name


def test_routes_with_a_path_parameter_document_not_found(document):
    # A path parameter of the wrong format (not a UUID) matches no route: 404 not-found.
    for name, operation in _operations(document):
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            response = operation["responses"].get("404")
            assert response is not None, name
            assert "not-found" in response["content"][PROBLEM_JSON]["examples"], name


def test_every_route_documents_that_the_database_may_be_unavailable(document):
    """Issue 15, defect 9: any route answers 503 database-unavailable (with Retry-After)."""
    checked = 0
    for name, operation in _operations(document):
        if not any(int(status) >= 400 for status in operation["responses"]):
            continue  # health, readiness, metrics, the schema: no problem answers of their own
        response = operation["responses"].get("503")
        assert response is not None, name
        assert "database-unavailable" in response["content"][PROBLEM_JSON]["examples"], name
        checked += 1
    assert checked > 50
