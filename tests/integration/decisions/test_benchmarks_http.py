"""Discretion benchmarks and the major-decision catalog through the office and public API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.decisions.conftest import YUAN, benchmark_body

pytestmark = pytest.mark.both_engines


@pytest.fixture
async def admin(make_person: Any, auth_headers: Any) -> tuple[Any, dict[str, str]]:
    person = await make_person(roles=["admin"])
    return person, await auth_headers(person)


@pytest.mark.requirement("R-DISC-2")
async def test_benchmark_with_two_tiers_is_refused_at_publishing(client: Any, admin: Any) -> None:
    _, headers = admin
    created = await client.post("/api/v1/benchmarks", json=benchmark_body(tiers=2), headers=headers)
    assert created.status_code == 201
    assert created.json()["status"] == "draft"
    refused = await client.post(f"/api/v1/benchmarks/{created.json()['id']}/publish", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["type"] == "/problems/benchmark-tiers-insufficient"
    assert refused.json()["field"] == "items[0].tiers"
    stored = await client.get(f"/api/v1/benchmarks/{created.json()['id']}", headers=headers)
    assert stored.json()["status"] == "draft"


@pytest.mark.requirement("R-DISC-1", "R-DISC-9")
async def test_versions_stay_readable_and_only_published_ones_are_public(client: Any, admin: Any) -> None:
    person, headers = admin
    first = (await client.post("/api/v1/benchmarks", json=benchmark_body(), headers=headers)).json()
    assert (await client.post(f"/api/v1/benchmarks/{first['id']}/publish", headers=headers)).status_code == 200
    second_body = benchmark_body()
    second_body["items"][0]["tiers"][2]["fine_max_fen"] = 450_000 * YUAN
    second = (await client.post("/api/v1/benchmarks", json=second_body, headers=headers)).json()
    assert (first["version"], second["version"]) == (1, 2)
    again = await client.post(f"/api/v1/benchmarks/{first['id']}/publish", headers=headers)
    assert again.status_code == 409
    public = await client.get(f"/public/v1/agencies/{person.agency.id}/benchmarks")
    assert [(b["version"], b["status"]) for b in public.json()] == [(1, "published")]
    old = await client.get(f"/public/v1/agencies/{person.agency.id}/benchmarks/{first['id']}")
    assert old.json()["items"][0]["tiers"][2]["fine_max_fen"] == 500_000 * YUAN
    assert (await client.get(f"/public/v1/agencies/{person.agency.id}/benchmarks/{second['id']}")).status_code == 404


async def test_structural_errors_name_the_field(client: Any, admin: Any) -> None:
    _, headers = admin
    body = benchmark_body()
    body["items"][0]["tiers"][1]["fine_max_fen"] = 900_000 * YUAN
    refused = await client.post("/api/v1/benchmarks", json=body, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["field"] == "items[0].tiers[1].fine_max_fen"


async def test_only_admins_adopt_benchmarks(client: Any, make_person: Any, auth_headers: Any) -> None:
    officer = await make_person(roles=["officer"])
    refused = await client.post("/api/v1/benchmarks", json=benchmark_body(), headers=await auth_headers(officer))
    assert refused.status_code == 403


@pytest.mark.requirement("R-LEGAL-3")
async def test_catalog_needs_the_agency_threshold_for_large_fines(client: Any, admin: Any) -> None:
    _, headers = admin
    refused = await client.post("/api/v1/major-catalog", json={"category": "large_fine"}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["field"] == "penalties"
    no_figure = {"category": "large_fine", "penalties": [{"kind": "fine"}]}
    refused = await client.post("/api/v1/major-catalog", json=no_figure, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["field"] == "penalties[0].threshold_fen"
    not_a_fine = {"category": "large_fine", "penalties": [{"kind": "licence_suspension"}]}
    assert (await client.post("/api/v1/major-catalog", json=not_a_fine, headers=headers)).status_code == 422
    body = {"category": "large_fine", "penalties": [{"kind": "fine", "threshold_fen": 10_000_000}]}
    entry = await client.post("/api/v1/major-catalog", json=body, headers=headers)
    assert entry.status_code == 201
    assert entry.json()["penalties"] == [{"kind": "fine", "threshold_fen": 10_000_000}]
    retired = await client.post(f"/api/v1/major-catalog/{entry.json()['id']}/retire", headers=headers)
    assert retired.json()["active"] is False
    assert (await client.get("/api/v1/major-catalog", headers=headers)).json() == []


@pytest.mark.requirement("R-DISC-7")
async def test_answer_periods_have_defaults_and_can_be_configured(client: Any, admin: Any) -> None:
    _, headers = admin
    periods = {p["penalty_kind"]: p for p in (await client.get("/api/v1/answer-periods", headers=headers)).json()}
    assert (periods["fine"]["days"], periods["fine"]["configured"]) == (5, False)
    changed = await client.put(
        "/api/v1/answer-periods", json={"penalty_kind": "fine", "days": 3, "day_kind": "working"}, headers=headers
    )
    assert changed.status_code == 200
    periods = {p["penalty_kind"]: p for p in (await client.get("/api/v1/answer-periods", headers=headers)).json()}
    assert (periods["fine"]["days"], periods["fine"]["day_kind"], periods["fine"]["configured"]) == (3, "working", True)
