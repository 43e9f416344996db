"""How routes document the errors they raise in the OpenAPI document (one list per kind of route)."""

from __future__ import annotations

from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)


class ConflictDoc(ClientException):
    """Documents the 409 problems (illegal transition, duplicate, state conflicts) in OpenAPI."""

    status_code = 409


class UnprocessableDoc(ClientException):
    """Documents the 422 problems (input valid in form but refused by a rule) in OpenAPI."""

    status_code = 422


AUTH_ERRORS: list[type[HTTPException]] = [NotAuthorizedException, PermissionDeniedException, NotFoundException, ValidationException]
CHANGE_ERRORS: list[type[HTTPException]] = [*AUTH_ERRORS, ConflictDoc, UnprocessableDoc]
