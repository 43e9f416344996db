"""API contract (schemathesis): generated requests against every documented operation.

Bad input must be a 4xx problem, never a 5xx; every answer must be documented.
"""

from __future__ import annotations

import asyncio
import uuid

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from backend.core.auth import TokenIssuer
from backend.org import schemas as org_schemas
from backend.org import service as org_service

# A bounded run over every operation: the schema's own examples, then a few generated requests
# per operation (fuzzing, ``max_examples`` below). The coverage phase stays off: it walks the
# boundary values of every parameter whatever ``max_examples`` says, and was most of the
# minute this test used to take.
PHASES = {
    "examples": {"enabled": True},
    "fuzzing": {"enabled": True},
    "coverage": {"enabled": False},
    "stateful": {"enabled": False},
}


@pytest.fixture
def api_schema(app):
    config = SchemathesisConfig.from_dict({"phases": PHASES})
    return schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=config)


@pytest.fixture
def admin_headers(app, key_ring, settings):
    async def make() -> org_schemas.UserOut:
        agency = await org_service.create_agency(
            data=org_schemas.AgencyIn(code=f"a-{uuid.uuid4().hex[:6]}", name="A", kind="enforcement_agency")
        )
        data = msgspec.convert(
            {
                "username": f"adm-{uuid.uuid4().hex[:6]}",
                "password": "contract-pass-1",
                "full_name": "Admin",
                "roles": ["admin", "supervisor", "officer"],
                "agency_id": str(agency.id),
            },
            org_schemas.UserIn,
        )
        return await org_service.create_user(principal=None, data=data)

    user = asyncio.run(make())
    principal = asyncio.run(org_service.principal_for(user.id))
    issuer = TokenIssuer(key_ring, issuer=settings.issuer, audience=settings.audience, ttl_s=settings.access_token_ttl_s)
    return {"Authorization": f"Bearer {issuer.issue(principal)}"}


schema = schemathesis.pytest.from_fixture("api_schema")


def errors_are_problem_documents(ctx, response, case):
    """Every 4xx answer is application/problem+json (RFC 9457), never HTML or a bare string."""
    if 400 <= response.status_code < 500 and case.method.upper() != "HEAD":
        content_type = response.headers.get("content-type", [""])
        value = content_type[0] if isinstance(content_type, list) else content_type
        assert value.startswith("application/problem+json"), f"{response.status_code} answered {value!r}"


@pytest.mark.slow
@schema.parametrize()
@hypothesis_settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_on_generated_input(case, admin_headers):
    response = case.call(headers=admin_headers)
    case.validate_response(response, checks=[not_a_server_error, errors_are_problem_documents])
