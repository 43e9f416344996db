import pytest


@pytest.mark.both_engines
async def test_login_and_me(client, make_person, auth_headers):
    person = await make_person(roles=["admin"])
    headers = await auth_headers(person)
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert response.json()["username"] == person.username
