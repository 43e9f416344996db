"""Composition root: ``create_app(settings)`` wires every area into one Litestar app."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from litestar import Litestar, Request, get
from litestar.config.compression import CompressionConfig
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.response import Response
from piccolo.table import Table

import backend.enforcement.decisions.tables as decision_tables
import backend.enforcement.tables as enforcement_tables
import backend.http.custody as custody_http
import backend.http.decisions as decisions_http
import backend.http.field as field_http
import backend.http.public as public_http
import certificates.routes as certificate_routes
import certificates.tables as certificate_tables
import evidence.custody.tables as custody_tables
import evidence.tables as evidence_tables
import evidence.uploads.tables as upload_tables
import mobile_api.evidence as mobile_evidence
import mobile_api.field as mobile_field
import mobile_api.uploads as mobile_uploads
from backend.core import db
from backend.core import tables as core_tables
from backend.core.auth import Principal, TokenIssuer
from backend.core.caching import etag_middleware_factory
from backend.core.errors import Unauthorized
from backend.core.idempotency import idempotency_middleware_factory
from backend.core.keys import KeyRing, load_key_ring
from backend.core.observability import configure_logging, request_id_middleware
from backend.core.problems import EXCEPTION_HANDLERS
from backend.core.settings import Settings
from backend.ops import background_duties
from backend.org import service as org_service
from backend.org import tables as org_tables
from backend.org.routes import AuthController, OrgController
from evidence.store import ObjectStore, open_store

# Each area exposes TABLES (Piccolo) and ROUTES (Litestar handlers); this is the one list.
TABLE_MODULES = [
    core_tables,
    org_tables,
    certificate_tables,
    evidence_tables,
    custody_tables,
    upload_tables,
    enforcement_tables,
    decision_tables,
]
ROUTE_MODULES = [
    certificate_routes,
    mobile_evidence,
    mobile_uploads,
    mobile_field,
    custody_http,
    field_http,
    decisions_http,
    public_http,
]


def all_tables() -> list[type[Table]]:
    return [table for module in TABLE_MODULES for table in module.TABLES]


async def migrate(settings: Settings) -> None:
    """Apply every area's Piccolo migrations to the configured database."""
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    import backend.piccolo_conf as conf

    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    engine = db.make_engine(settings.effective_database_url)
    conf.DB = engine
    Migration._meta._db = engine
    with contextlib.redirect_stdout(io.StringIO()):  # piccolo prints progress
        result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


@get("/health", summary="Liveness", tags=["operations"], include_in_schema=True)
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", summary="Readiness: database and object store reachable", tags=["operations"])
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


def _principal_provider(issuer: TokenIssuer) -> Any:
    async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send Authorization: Bearer <access token>")
        return await org_service.authenticate(issuer=issuer, token=token.strip())

    return provide_principal


def create_app(settings: Settings, *, keys: KeyRing | None = None) -> Litestar:
    configure_logging(settings.log_level)
    keys = keys or load_key_ring(settings.effective_key_dir, retention_s=settings.key_retention_s)
    issuer = TokenIssuer(keys, issuer=settings.issuer, audience=settings.audience, ttl_s=settings.access_token_ttl_s)
    engine = db.make_engine(settings.effective_database_url)
    db.bind(engine, all_tables())
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

    return Litestar(
        route_handlers=[
            health,
            ready,
            MetricsController,
            AuthController,
            OrgController,
            *(handler for module in ROUTE_MODULES for handler in module.ROUTES),
        ],
        dependencies={
            "settings": Provide(provide_settings, sync_to_thread=False),
            "issuer": Provide(provide_issuer, sync_to_thread=False),
            "keys": Provide(provide_keys, sync_to_thread=False),
            "store": Provide(provide_store, sync_to_thread=False),
            "principal": Provide(_principal_provider(issuer)),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            request_id_middleware,
            prometheus.middleware,
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


__all__ = ["all_tables", "create_app", "migrate"]
