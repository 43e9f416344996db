"""Composition root: ``create_app(settings)`` wires every area into one Litestar app."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from litestar import Litestar, MediaType, Request, get
from litestar.config.compression import CompressionConfig
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.response import Response

from backend import registry
from backend.api.names import fill_names
from backend.core import db
from backend.core.access import PUBLIC, declared
from backend.core.auth import Principal, TokenIssuer
from backend.core.http.allow import allow_header_middleware
from backend.core.http.authentication import Authenticate, authentication_middleware_factory, request_principal
from backend.core.http.caching import etag_middleware_factory
from backend.core.http.idempotency import idempotency_middleware_factory
from backend.core.http.input import input_policy_middleware
from backend.core.http.openapi import StrictStructSchemaPlugin, finish_openapi
from backend.core.http.problems import EXCEPTION_HANDLERS, domain_error_handler, internal_error_handler
from backend.core.keys import KeyRing, load_key_ring
from backend.core.observability import configure_logging, request_id_middleware
from backend.core.settings import Settings
from backend.ledger.schemas import LedgerAuditor
from backend.ops import audit_ledger, background_duties
from backend.org import service as org_service
from evidence.errors import StoreUnavailableError
from evidence.store import ObjectStore, StoreError, open_store


def store_error_handler(request: Request[Any, Any, Any], exc: StoreError) -> Response[Any]:
    """The object store failing or out of reach is a retryable 503 with Retry-After on every
    route, as the database is (issue 15.6); a missing or duplicate object is no outage (500)."""
    if type(exc) is not StoreError:
        return internal_error_handler(request, exc)
    return domain_error_handler(request, StoreUnavailableError(f"the evidence store failed ({exc}); retry shortly"))


@get("/health", summary="Liveness", tags=["operations"], include_in_schema=True, opt=declared(PUBLIC))
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", summary="Readiness: database and object store reachable", tags=["operations"], opt=declared(PUBLIC))
async def ready(store: NamedDependency[ObjectStore]) -> Response[dict[str, Any]]:
    checks: dict[str, str] = {}
    try:
        await db.current_engine().run_ddl("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        await store.check()
        checks["object_store"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        checks["object_store"] = f"unreachable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return Response({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)


class MetricsController(PrometheusController):
    """Prometheus text exposition at /metrics."""

    tags = ["operations"]

    # Documented as what it sends (text/plain exposition), not Litestar's default JSON.
    @get(media_type=MediaType.TEXT, summary="Prometheus metrics (text exposition format)", opt=declared(PUBLIC))
    async def get(self) -> Response[Any]:
        answer: Response[Any] = await PrometheusController.get.fn(self)
        return answer


def _authenticator(issuer: TokenIssuer) -> Authenticate:
    async def authenticate(token: str) -> Principal:
        return await org_service.authenticate(issuer=issuer, token=token)

    return authenticate


def _principal_provider(authenticate: Authenticate) -> Any:
    async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
        return await request_principal(request, authenticate)

    return provide_principal


def create_app(settings: Settings, *, keys: KeyRing | None = None) -> Litestar:
    configure_logging(settings.log_level)
    keys = keys or load_key_ring(settings.effective_key_dir, retention_s=settings.key_retention_s)
    issuer = TokenIssuer(keys, issuer=settings.issuer, audience=settings.audience, ttl_s=settings.access_token_ttl_s)
    # One authenticator for the middleware (before validation) and the ``principal`` dependency.
    authenticate = _authenticator(issuer)
    engine = db.make_engine(settings.effective_database_url)
    db.bind(engine, registry.all_tables())
    store = open_store(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Worker threads carry blocking object-store calls; bound them explicitly.
        anyio.to_thread.current_default_thread_limiter().total_tokens = 32
        await db.start_pool(engine, max_size=settings.database_pool_max)
        duties = asyncio.create_task(background_duties(settings, keys, store), name="background-duties")
        try:
            yield
        finally:
            duties.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await duties
            await db.close_pool(engine)
            await store.close()

    prometheus = PrometheusConfig(app_name="fieldproof", group_path=True)

    def provide_settings() -> Settings:
        return settings

    def provide_issuer() -> TokenIssuer:
        return issuer

    def provide_keys() -> KeyRing:
        return keys

    def provide_store() -> ObjectStore:
        return store

    def provide_ledger_audit() -> LedgerAuditor:
        # The office's ledger check runs the CLI's whole audit (only this root knows every domain).
        return functools.partial(audit_ledger, keys)

    app = Litestar(
        route_handlers=[
            health,
            ready,
            MetricsController,
            *registry.all_routes(),
        ],
        dependencies={
            "settings": Provide(provide_settings, sync_to_thread=False),
            "issuer": Provide(provide_issuer, sync_to_thread=False),
            "keys": Provide(provide_keys, sync_to_thread=False),
            "store": Provide(provide_store, sync_to_thread=False),
            "audit_ledger": Provide(provide_ledger_audit, sync_to_thread=False),
            "principal": Provide(_principal_provider(authenticate)),
        },
        exception_handlers={**EXCEPTION_HANDLERS, StoreError: store_error_handler},
        # Request bodies documented as strictly as the decoder reads them (unknown members, list items).
        plugins=[StrictStructSchemaPlugin()],
        # Names and roles beside every person id of an answer, one query per answer (issue 14).
        after_request=fill_names,
        middleware=[
            request_id_middleware,
            prometheus.middleware,
            # OPTIONS: Allow names every method of the path, not one route group's.
            allow_header_middleware,
            # Authentication before validation on every route taking a principal (issue 15).
            authentication_middleware_factory(authenticate),
            # One input policy for every route (issue 15): before idempotency stores an answer.
            input_policy_middleware,
            idempotency_middleware_factory(issuer, path_prefix="/api/mobile/"),
            etag_middleware_factory(path_prefixes=("/api/mobile/", "/api/v1/", "/public/v1/")),
        ],
        lifespan=[lifespan],
        # Compact answers for phones on slow links; never on byte streams whose ranges and
        # hashes must stay exactly as stored.
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=1024,
            exclude=[r"^/api/v1/evidence/", r"^/api/mobile/v1/uploads", r"^/api/v1/cases/[^/]+/export", r"^/metrics"],
        ),
        request_max_body_size=settings.json_body_limit,
        openapi_config=OpenAPIConfig(
            title="Fieldproof",
            version="1.0.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
    )
    # The OpenAPI document goes through finish_document (answers without a body).
    return finish_openapi(app)


__all__ = ["create_app"]
