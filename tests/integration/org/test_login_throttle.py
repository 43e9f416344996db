"""Login throttling per username and client address, with backoff and admin unlock (issue 15 #7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.api import org as org_api
from backend.core import clock
from backend.core.settings import Settings
from backend.ledger.tables import LedgerRow
from backend.org import throttle
from backend.org.tables import LoginFailure
from tests.factories import PASSWORD


@pytest.fixture
def from_address(monkeypatch):
    """Requests name their client address in a test header (the test client has one fixed address)."""
    monkeypatch.setattr(org_api, "client_address", lambda request: request.headers.get("x-test-client", "198.51.100.1"))


async def _login(client, username, password=PASSWORD, address="198.51.100.1"):
    return await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, headers={"x-test-client": address}
    )


def test_backoff_doubles_after_the_limit_up_to_the_cap():
    settings = Settings(login_max_failures=5, login_backoff_base_s=30, login_backoff_max_s=900)
    assert [throttle.backoff_s(n, settings) for n in (4, 5, 6, 7, 10, 40)] == [0, 30, 60, 120, 900, 900]


@pytest.mark.both_engines
async def test_a_guesser_is_slowed_with_retry_after_and_the_real_user_elsewhere_logs_in(client, make_person, from_address):
    person = await make_person()
    for _ in range(5):
        assert (await _login(client, person.username, "wrong-password", "203.0.113.9")).status_code == 401
    throttled = await _login(client, person.username, "wrong-password", "203.0.113.9")
    assert throttled.status_code == 429
    assert throttled.json()["type"] == "/problems/too-many-requests"
    assert 0 < int(throttled.headers["Retry-After"]) <= 30
    assert throttled.json()["retry_after"] == int(throttled.headers["Retry-After"])
    # The officer's own phone, at another address, is not locked out.
    assert (await _login(client, person.username, address="198.51.100.7")).status_code == 200


async def test_backoff_grows_and_ends(client, make_person, from_address):
    person = await make_person()
    for _ in range(5):
        await _login(client, person.username, "wrong-password")
    first = int((await _login(client, person.username)).headers["Retry-After"])
    with clock.frozen_clock(clock.now() + timedelta(seconds=first + 1)):
        assert (await _login(client, person.username, "wrong-password")).status_code == 401
        second = await _login(client, person.username)
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > first  # doubled after the sixth failure
    with clock.frozen_clock(clock.now() + timedelta(seconds=first + 2 * first + 2)):
        assert (await _login(client, person.username)).status_code == 200
    # A good login clears that pair's failures.
    assert await LoginFailure.count().where(LoginFailure.username == person.username) == 0


@pytest.mark.both_engines
async def test_one_address_guessing_many_names_does_not_block_the_office(client, make_person, from_address):
    colleague = await make_person()
    for n in range(20):
        assert (await _login(client, f"nobody-{n}", "wrong-password", "192.0.2.50")).status_code == 401
    assert (await _login(client, colleague.username, address="192.0.2.50")).status_code == 200


async def test_an_address_has_a_ceiling_over_all_usernames(client, make_person, from_address, app):
    colleague = await make_person()
    ceiling = app.dependencies["settings"].dependency().login_address_max_failures
    now = clock.now()
    await LoginFailure.insert(*[LoginFailure(username=f"spray-{n}", client_address="192.0.2.99", at=now) for n in range(ceiling)])
    response = await _login(client, colleague.username, address="192.0.2.99")
    assert response.status_code == 429
    assert "Retry-After" in response.headers


@pytest.mark.both_engines
async def test_an_admin_of_the_users_agency_unlocks_and_it_is_ledgered(
    client, make_agency, make_person, auth_headers, from_address
):
    agency = await make_agency()
    admin = await make_person(roles=["admin"], agency=agency)
    officer = await make_person(agency=agency)
    stranger_admin = await make_person(roles=["admin"])
    for _ in range(5):
        await _login(client, officer.username, "wrong-password", "203.0.113.9")
    assert (await _login(client, officer.username, address="203.0.113.9")).status_code == 429
    path = f"/api/v1/users/{officer.user.id}/unlock"
    assert (await client.post(path, headers=await auth_headers(stranger_admin))).status_code == 404
    assert (await client.post(path, headers=await auth_headers(officer))).status_code == 403
    response = await client.post(path, headers=await auth_headers(admin))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": str(officer.user.id),
        "user_name": officer.user.full_name,
        "user_role": "officer",
        "failures_cleared": 5,
    }
    entry = await LedgerRow.select().where(LedgerRow.event == "user.login_unlocked").first()
    assert entry is not None
    assert entry["subject_id"] == str(officer.user.id)
    assert (await _login(client, officer.username, address="203.0.113.9")).status_code == 200
