"""How a route documents the problems it answers in the OpenAPI document.

Every route passes ``responses=problems(...)`` with the problem classes it can answer: the
``backend.core.errors`` kinds and its area's own subclasses, as the services it calls raise
them. Per status code the document then shows ``application/problem+json`` with the one
Problem schema, the problem types in the description and one example per type, so the
document names the slugs a client can branch on instead of the framework's exceptions.
Every route also documents ``EVERY_ROUTE`` (a database that cannot be reached: 503), added
by ``problems`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, Reference, Schema
from litestar.typing import FieldDefinition

from backend.core.errors import (
    DatabaseUnavailable,
    DateTimeOutOfRange,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidText,
    JSONTooDeep,
    MalformedRequest,
    PayloadTooLarge,
    ProblemError,
    RequestInProgress,
    RequestNotValid,
    Unauthorized,
    UnsupportedMediaType,
)
from backend.core.http.problems import PROBLEM_JSON


class FieldError(msgspec.Struct, kw_only=True):
    """One failed check of the request's parameters or body (``validation-error`` only)."""

    message: str
    key: str | None = None
    source: str | None = None


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem document, as ``backend.core.http.problems`` writes every error.

    A problem type may add members of its own (e.g. ``missing``, ``retry_after``, ``size``).
    """

    type: Annotated[str, msgspec.Meta(description="`/problems/<slug>`; the slug never changes with language")]
    title: Annotated[str, msgspec.Meta(description="In the language of Accept-Language (zh-CN by default, en)")]
    status: int
    detail: str
    instance: str | None = None
    field: Annotated[str | None, msgspec.Meta(description="The parameter, header or body field at fault")] = None
    errors: list[FieldError] | None = None
    retry_after: Annotated[
        int | None, msgspec.Meta(description="Seconds to wait before retrying; also sent as the Retry-After header")
    ] = None


EVERY_ROUTE: tuple[type[ProblemError], ...] = (DatabaseUnavailable, InvalidText, MalformedRequest)
"""Any route may meet a database that does not answer (``backend.core.http.problems``), and the
input policy (``backend.core.http.input``) checks every request's query, path, headers and
framing; ``problems`` adds these to every route's responses."""

SIGNED_IN: tuple[type[ProblemError], ...] = (Unauthorized, Forbidden)
"""Every route behind the ``principal`` dependency (missing, expired or revoked token: 401; a
role or part in the matter its access rule needs and the caller lacks: 403, backend/core/access.py)."""

WITH_INPUT: tuple[type[ProblemError], ...] = (
    RequestNotValid,
    DateTimeOutOfRange,
    JSONTooDeep,
    UnsupportedMediaType,
    PayloadTooLarge,
)
"""Every route with parameters or a body (the framework's validation and the input policy's
rules for JSON bodies: depth, size, media type, date-time range)."""

PHONE_WRITE: tuple[type[ProblemError], ...] = (InvalidInput, IdempotencyKeyReused, RequestInProgress)
"""Every POST/PUT/PATCH/DELETE under /api/mobile/ (``backend.core.http.idempotency``)."""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # tus's 460 is no IANA status
        return f"HTTP {status}"


def _example(error: type[ProblemError]) -> Example:
    value = {"type": f"/problems/{error.slug}", "title": error.title, "status": error.status, "detail": error.title}
    description = (error.__doc__ or "").strip() or None
    return Example(id=error.slug, summary=error.title, description=description, value=value)


def problems(*errors: type[ProblemError] | Iterable[type[ProblemError]]) -> dict[int, ResponseSpec]:
    """The ``responses=`` of a route answering ``errors`` (classes or groups of classes).

    A status lists each problem type once (two classes sharing a slug are one type).
    """
    by_status: dict[int, dict[str, type[ProblemError]]] = {}
    for item in (*errors, EVERY_ROUTE):
        for error in (item,) if isinstance(item, type) else item:
            by_status.setdefault(error.status, {}).setdefault(error.slug, error)
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            generate_examples=False,
            description=f"{_phrase(status)}: " + ", ".join(f"`{slug}`" for slug in sorted(kinds)),
            examples=[_example(kinds[slug]) for slug in sorted(kinds)],
        )
        for status, kinds in sorted(by_status.items())
    }


# --- request bodies as strict as the decoder (issue 15, point 8) ------------------------------


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's msgspec Struct schemas, saying what the decoder enforces besides.

    - ``additionalProperties: false`` for a Struct with ``forbid_unknown_fields`` (every request
      body): an unknown member is a 400, so the document must not invite one;
    - the length and pattern of the strings inside a list or set field (``domains: [str ≥ 1]``),
      which Litestar leaves out of ``items``, and bounds of 0 on optional numbers, which it
      drops (``threshold_fen: int ≥ 0 | None``).

    Passed to ``Litestar(plugins=…)`` it comes before Litestar's own struct plugin.
    """

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct = field_definition.type_
        if struct.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        info = msgspec.inspect.type_info(struct)
        for field in getattr(info, "fields", ()):
            _constraints(schema.properties.get(field.encode_name) if schema.properties else None, field.type)
        return schema


_BOUNDS = (("ge", "minimum"), ("le", "maximum"), ("gt", "exclusive_minimum"), ("lt", "exclusive_maximum"))
_LENGTHS = (("min_length", "min_length"), ("max_length", "max_length"), ("pattern", "pattern"))
_ITEMS = (("min_length", "min_items"), ("max_length", "max_items"))


def _constraints(prop: Schema | Reference | None, kind: msgspec.inspect.Type) -> None:
    """Put msgspec's constraints of a field where Litestar left them out: a bound of 0 (Litestar
    drops falsy ones on optional fields), the strings inside a list, the bounds of a union."""
    if not isinstance(prop, Schema):
        return
    if isinstance(kind, msgspec.inspect.UnionType):
        for option in kind.types:
            if isinstance(option, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.FrozenSetType):
                arrays = [b for b in prop.one_of or prop.any_of or [] if isinstance(b, Schema) and b.type == "array"]
                for branch in arrays:
                    _constraints(branch, option)
            else:
                _copy(prop, option)  # Litestar documents a union's constraints on the union itself
        return
    if isinstance(kind, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.FrozenSetType):
        _copy(prop, kind, _ITEMS)
        _constraints(prop.items if isinstance(prop.items, Schema) else None, kind.item_type)
        return
    _copy(prop, kind)


def _copy(prop: Schema, kind: msgspec.inspect.Type, pairs: tuple[tuple[str, str], ...] | None = None) -> None:
    if pairs is None:
        if isinstance(kind, msgspec.inspect.IntType | msgspec.inspect.FloatType):
            pairs = _BOUNDS
        elif isinstance(kind, msgspec.inspect.StrType):
            pairs = _LENGTHS
        else:
            return
    for source, target in pairs:
        value = getattr(kind, source, None)
        if value is not None and getattr(prop, target, None) is None:
            setattr(prop, target, value)


# --- answers without a body ------------------------------------------------------------------


class _FinishedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin whose JSON document goes through ``finish_document`` once."""

    __slots__ = ()

    def provide_openapi_schema(self) -> dict[str, Any]:
        if not self._openapi_schema:
            document = finish_document(super().provide_openapi_schema())
            self._openapi_schema = _parameter_bounds(self.app, document)
        return self._openapi_schema


_TYPED = re.compile(r"\{(\w+):\w+\}")


def _parameter_bounds(app: Litestar, document: dict[str, Any]) -> dict[str, Any]:
    """Bounds of 0 on query and path parameters (``offset ≥ 0``), which Litestar drops as falsy."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            for name, field in handler.parsed_fn_signature.parameters.items():
                bounds = {t: getattr(field.kwarg_definition, s, None) for s, t in _BOUNDS}
                present = {target: value for target, value in bounds.items() if value is not None}
                if not present:
                    continue
                path_item = document.get("paths", {}).get(_TYPED.sub(r"{\1}", route.path), {})
                for method in handler.http_methods:
                    for parameter in (path_item.get(str(method).lower()) or {}).get("parameters", ()):
                        if parameter.get("name") == name:
                            for target, value in present.items():
                                key = {"exclusive_minimum": "exclusiveMinimum", "exclusive_maximum": "exclusiveMaximum"}
                                parameter["schema"].setdefault(key.get(target, target), value)
    return document


def finish_document(document: dict[str, Any]) -> dict[str, Any]:
    """What Litestar's generator cannot say, fixed in the JSON document (issue 15, defect 14):
    a route returning ``Response[None]`` (tus 201/204, HEAD) sends no body and no Content-Type,
    so its answer documents no ``content`` rather than ``application/json`` ``null``."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for response in (operation.get("responses") or {}).values() if isinstance(operation, dict) else ():
                content = response.get("content") or {}
                if list(content) == ["application/json"] and content["application/json"].get("schema") == {"type": "null"}:
                    del response["content"]
    return document


def finish_openapi(app: Litestar) -> Litestar:
    """Serve the app's OpenAPI document through ``finish_document`` (built lazily, as before)."""
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = _FinishedOpenAPIPlugin
    return app
