"""HTTP for login and the organisation (thin: every rule lives in service.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from backend.core.access import declared
from backend.core.auth import Principal, TokenIssuer
from backend.core.errors import Conflict, DuplicateValue, Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from backend.core.http.authentication import client_address
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.core.settings import Settings
from backend.org import rules, schemas, service, sessions

# Routes that check the caller's role (admin, some also supervisor); the rest from the service called.
ROLE_CHECKED = (*SIGNED_IN, *WITH_INPUT, Forbidden)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        status_code=200,
        summary="Log in with username and password",
        responses=problems(WITH_INPUT, Unauthorized, TooManyRequests),
        opt=declared(rules.SESSION),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.LoginIn],
        issuer: NamedDependency[TokenIssuer],
        settings: NamedDependency[Settings],
    ) -> schemas.TokenPair:
        return await sessions.login(issuer=issuer, data=data, client_address=client_address(request), settings=settings)

    @post(
        "/refresh",
        status_code=200,
        summary="Rotate a refresh token",
        responses=problems(WITH_INPUT, Unauthorized),
        opt=declared(rules.SESSION),
    )
    async def refresh(
        self, data: JSONBody[schemas.RefreshIn], issuer: NamedDependency[TokenIssuer], settings: NamedDependency[Settings]
    ) -> schemas.TokenPair:
        return await sessions.refresh(issuer=issuer, refresh_token=data.refresh_token, refresh_ttl_s=settings.refresh_token_ttl_s)

    @post(
        "/logout",
        summary="End the session of a refresh token",
        status_code=204,
        responses=problems(WITH_INPUT),
        opt=declared(rules.SESSION),
    )
    async def logout(self, data: JSONBody[schemas.RefreshIn]) -> None:
        await sessions.logout(refresh_token=data.refresh_token)


class OrgController(Controller):
    path = "/api/v1"
    tags = ["organisation"]

    @get("/me", summary="The authenticated user", responses=problems(SIGNED_IN, NotFound), opt=declared(rules.ME))
    async def me(self, principal: NamedDependency[Principal]) -> schemas.UserOut:
        return await service.get_user(principal=principal, user_id=principal.user_id)

    @get("/agencies", summary="List agencies", responses=problems(SIGNED_IN), opt=declared(rules.REGISTRY_READ))
    async def list_agencies(self, principal: NamedDependency[Principal]) -> list[schemas.AgencyOut]:
        return await service.list_agencies()

    @post(
        "/agencies",
        summary="Create an agency (Justice Bureau admins)",
        responses=problems(ROLE_CHECKED, InvalidInput, DuplicateValue, NotFound),
        opt=declared(rules.AGENCY_REGISTER),
    )
    async def create_agency(self, principal: NamedDependency[Principal], data: JSONBody[schemas.AgencyIn]) -> schemas.AgencyOut:
        return await service.create_agency(data=data, principal=principal)

    @get(
        "/agencies/{agency_id:uuid}",
        summary="One agency",
        responses=problems(SIGNED_IN, WITH_INPUT, NotFound),
        opt=declared(rules.REGISTRY_READ),
    )
    async def get_agency(self, principal: NamedDependency[Principal], agency_id: FromPath[UUID]) -> schemas.AgencyOut:
        return await service.get_agency(agency_id=agency_id)

    @post(
        "/agencies/{agency_id:uuid}/confirmation",
        status_code=200,
        summary="Record an agency's confirmation as an enforcement subject, with its announcement (R-AGY-1)",
        responses=problems(ROLE_CHECKED, InvalidInput, NotFound, Conflict),
        opt=declared(rules.AGENCY_REGISTER),
    )
    async def confirm_agency(
        self, principal: NamedDependency[Principal], agency_id: FromPath[UUID], data: JSONBody[schemas.AgencyConfirmationIn]
    ) -> schemas.AgencyOut:
        return await service.confirm_agency(principal=principal, agency_id=agency_id, data=data)

    @get("/users", summary="Users of the caller's agency", responses=problems(ROLE_CHECKED), opt=declared(rules.USERS_READ))
    async def list_users(
        self, principal: NamedDependency[Principal], role: FromQuery[str | None] = None
    ) -> list[schemas.UserOut]:
        return await service.list_users(principal=principal, role=role)

    @post(
        "/users",
        summary="Create a user in the caller's agency",
        responses=problems(ROLE_CHECKED, InvalidInput, DuplicateValue, NotFound),
        opt=declared(rules.USER_CREATE),
    )
    async def create_user(self, principal: NamedDependency[Principal], data: JSONBody[schemas.UserIn]) -> schemas.UserOut:
        return await service.create_user(principal=principal, data=data)

    @get(
        "/users/{user_id:uuid}",
        summary="One user of the caller's agency",
        responses=problems(ROLE_CHECKED, NotFound),
        opt=declared(rules.USER_READ),
    )
    async def get_user(self, principal: NamedDependency[Principal], user_id: FromPath[UUID]) -> schemas.UserOut:
        return await service.read_user(principal=principal, user_id=user_id)

    @patch(
        "/users/{user_id:uuid}",
        summary="Change a user's name, roles, post or status",
        responses=problems(ROLE_CHECKED, InvalidInput, NotFound),
        opt=declared(rules.USER_UPDATE),
    )
    async def update_user(
        self, principal: NamedDependency[Principal], user_id: FromPath[UUID], data: JSONBody[schemas.UserPatch]
    ) -> schemas.UserOut:
        return await service.update_user(principal=principal, user_id=user_id, data=data)

    @post(
        "/users/{user_id:uuid}/unlock",
        status_code=200,
        summary="Clear a user's failed logins (admin of the user's agency)",
        responses=problems(ROLE_CHECKED, NotFound),
        opt=declared(rules.USER_UNLOCK),
    )
    async def unlock_user(self, principal: NamedDependency[Principal], user_id: FromPath[UUID]) -> schemas.UnlockOut:
        return await sessions.unlock(principal=principal, user_id=user_id)

    @get("/units", summary="Internal units of the caller's agency", responses=problems(SIGNED_IN), opt=declared(rules.UNITS_READ))
    async def list_units(self, principal: NamedDependency[Principal]) -> list[schemas.UnitOut]:
        return await service.list_units(principal=principal)

    @post("/units", summary="Create an internal unit", responses=problems(ROLE_CHECKED), opt=declared(rules.UNITS_CHANGE))
    async def create_unit(self, principal: NamedDependency[Principal], data: JSONBody[schemas.UnitIn]) -> schemas.UnitOut:
        return await service.create_unit(principal=principal, data=data)

    @post(
        "/posts",
        summary="Create a post with duties",
        responses=problems(ROLE_CHECKED, NotFound),
        opt=declared(rules.UNITS_CHANGE),
    )
    async def create_post(self, principal: NamedDependency[Principal], data: JSONBody[schemas.PostIn]) -> schemas.PostOut:
        return await service.create_post(principal=principal, data=data)

    @get(
        "/entrustments",
        summary="Entrustments given or received by the caller's agency",
        responses=problems(SIGNED_IN),
        opt=declared(rules.ENTRUSTMENTS_READ),
    )
    async def list_entrustments(self, principal: NamedDependency[Principal]) -> list[schemas.EntrustmentOut]:
        return await service.list_entrustments(principal=principal)

    @post(
        "/entrustments",
        summary="Entrust an organisation with matters (R-AGY-5)",
        responses=problems(ROLE_CHECKED, InvalidInput, NotFound),
        opt=declared(rules.ENTRUST),
    )
    async def create_entrustment(
        self, principal: NamedDependency[Principal], data: JSONBody[schemas.EntrustmentIn]
    ) -> schemas.EntrustmentOut:
        return await service.create_entrustment(principal=principal, data=data)


ROUTES: list[Any] = [AuthController, OrgController]
