"""Shared fixtures: real PostgreSQL or SQLite, a real S3 server over HTTP, the app, users.

Database isolation: the schema is migrated once per engine per session; before every
test the PostgreSQL tables holding rows are truncated and SQLite gets a fresh copy of the
migrated file. ``FIELDPROOF_TEST_DATABASE_URL`` selects PostgreSQL; tests marked
``both_engines`` run on SQLite and, when PostgreSQL answers, on PostgreSQL too.
Test data (agencies, people, certificates, cases, actions) comes from tests/factories.py.

Speed (``make test-fast``): one app per xdist worker and settings (``app_for``), PostgreSQL
connections kept while a test runs (tests/databases.py: ``PooledEngine``), argon2 at its
cheapest parameters (``cheap_password_hashing``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from argon2 import PasswordHasher
from argon2 import profiles as argon2_profiles
from filelock import FileLock
from litestar import Litestar
from litestar.testing import AsyncTestClient
from piccolo.engine.postgres import PostgresEngine

from backend.app import create_app
from backend.core import db
from backend.core.keys import KeyRing, load_key_ring
from backend.core.settings import Settings
from backend.org import schemas as org_schemas
from backend.registry import all_tables, migrate
from evidence.store import open_store
from tests import databases, factories
from tests.factories import PASSWORD, Person


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # both_engines always lists PostgreSQL: without a server it is skipped with a reason,
    # never silently replaced by SQLite.
    if "engine_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines"):
        metafunc.parametrize("engine_kind", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def engine_kind(request: pytest.FixtureRequest) -> str:
    kind: str = getattr(request, "param", "postgres" if databases.server_url() else "sqlite")
    if kind == "postgres" and not databases.server_url():
        pytest.skip(databases.SKIP_REASON)
    return kind


# --- database -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    settings = Settings(data_dir=str(folder), database_url=f"sqlite:///{folder / 'template.sqlite3'}")
    asyncio.run(migrate(settings))
    return folder / "template.sqlite3"


def _worker_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"


@pytest.fixture(scope="session")
def migrated_postgres(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[str]:
    """This worker's own database, cloned from the run's migrated template (tests/databases.py)."""
    server = databases.server_url()
    if server is None:
        pytest.skip(databases.SKIP_REASON)
    shared = tmp_path_factory.getbasetemp().parent  # one folder for all xdist workers of a run
    template = databases.template_name()
    with FileLock(str(shared / f"{template}.lock")):
        if not asyncio.run(databases.exists(server, template)):
            url = asyncio.run(databases.create(server, template))
            asyncio.run(migrate(Settings(database_url=url)))
        name = databases.worker_name(_worker_id(pytestconfig))
        url = asyncio.run(databases.create(server, name, template=template))
    try:
        yield url
    finally:
        asyncio.run(databases.drop(server, name))


@pytest.fixture(scope="session")
def worker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This worker's SQLite file, object store and key folder: emptied before every test, so
    the settings (and the app built from them, see ``app``) stay the same from test to test."""
    return tmp_path_factory.mktemp("worker")


@pytest.fixture
def database_url(engine_kind: str, request: pytest.FixtureRequest, worker_dir: Path) -> str:
    if engine_kind == "postgres":
        url: str = request.getfixturevalue("migrated_postgres")
        asyncio.run(databases.truncate_all(url))
        return url
    template: Path = request.getfixturevalue("migrated_sqlite")
    target = worker_dir / "fieldproof.sqlite3"
    for leftover in (target.with_name(target.name + suffix) for suffix in ("-wal", "-shm", "-journal")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


# --- S3 server (moto over real HTTP, or a real MinIO) --------------------------------------


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    endpoint = os.environ.get("FIELDPROOF_TEST_S3_ENDPOINT")
    if endpoint:
        yield S3Server(
            endpoint=endpoint,
            access_key=os.environ.get("FIELDPROOF_TEST_S3_ACCESS_KEY", "minioadmin"),
            secret_key=os.environ.get("FIELDPROOF_TEST_S3_SECRET_KEY", "minioadmin"),
        )
        return
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        yield S3Server(endpoint=f"http://127.0.0.1:{port}", access_key="testing", secret_key="testing")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- settings, app, client ---------------------------------------------------------------


@pytest.fixture(scope="session")
def key_ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return load_key_ring(tmp_path_factory.mktemp("keys"), retention_s=3600)


@pytest.fixture
def settings(database_url: str, worker_dir: Path) -> Settings:
    """Embedded object store (files); use ``s3_settings`` for the S3 server."""
    for folder in (worker_dir / "var", worker_dir / "keys"):
        shutil.rmtree(folder, ignore_errors=True)
    return Settings(
        data_dir=str(worker_dir / "var"),
        database_url=database_url,
        key_dir=str(worker_dir / "keys"),
        login_max_failures=5,
        database_pool_max=0,
    )


@pytest.fixture
def s3_settings(settings: Settings, s3_server: S3Server) -> Settings:
    bucket = f"ev-{uuid.uuid4().hex[:12]}"
    return msgspec.structs.replace(
        settings,
        store_url=s3_server.endpoint,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
        s3_bucket=bucket,
        s3_staging_bucket=f"{bucket}-staging",
    )


_apps: dict[bytes, tuple[Litestar, Any]] = {}


def app_for(settings: Settings, key_ring: KeyRing) -> Litestar:
    """The app for these settings, built once per worker (Litestar's route registration costs
    ~0.15 s): the settings only name this worker's database and folders, which every test
    starts with empty (``database_url``, ``settings``). The files store's folders are made
    again and the tables bound to the app's engine, as building the app would. An app on the
    S3 server (a bucket per test, a store with its own lock) is always built new."""
    key = msgspec.json.encode(settings) + str(id(key_ring)).encode()
    if key not in _apps:
        built = create_app(settings, keys=key_ring)
        engine = _pooled(db.current_engine())
        db.bind(engine, all_tables())
        if not settings.store_url:
            _apps[key] = (built, engine)
        return built
    built, engine = _apps[key]
    db.bind(engine, all_tables())
    open_store(settings)
    return built


def _pooled(engine: Any) -> Any:
    """On PostgreSQL the same engine, keeping its connections while a test runs."""
    return databases.PooledEngine(engine.config) if isinstance(engine, PostgresEngine) else engine


def _pooled_engine() -> databases.PooledEngine | None:
    engine = db.current_engine()
    return engine if isinstance(engine, databases.PooledEngine) else None


@pytest.fixture
def app(settings: Settings, key_ring: KeyRing) -> Litestar:
    return app_for(settings, key_ring)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app over ASGI; it serves requests on a loop of its own, the test runs on another:
    both keep their PostgreSQL connections for the test (tests/databases.py: PooledEngine)."""
    async with AsyncTestClient(app) as test_client:
        engine = _pooled_engine()  # the one to release, whatever a test binds meanwhile
        if engine is None:
            yield test_client
            return
        await engine.keep_connections()
        test_client.blocking_portal.call(engine.keep_connections)
        try:
            yield test_client
        finally:
            test_client.blocking_portal.call(engine.release_connections)
            await engine.release_connections()


# --- people -----------------------------------------------------------------------------

MakeAgency = Callable[..., Awaitable[org_schemas.AgencyOut]]
MakePerson = Callable[..., Awaitable[Person]]


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its cheapest valid parameters while testing: a hash with argon2's defaults
    costs ~0.15 s of CPU and the suite creates hundreds of users. The hashes are still real
    argon2id that logins verify (with the parameters each hash carries); the production
    hasher in backend.org is untouched outside the test run."""
    cheap = PasswordHasher.from_parameters(argon2_profiles.CHEAPEST)
    patch = pytest.MonkeyPatch()
    hashers = [
        (module, name)
        for module in list(sys.modules.values())
        if getattr(module, "__name__", "").startswith("backend.org")
        for name, value in vars(module).items()
        if isinstance(value, PasswordHasher)
    ]
    if not hashers:
        raise RuntimeError("no argon2 PasswordHasher found in backend.org: update cheap_password_hashing")
    for module, name in hashers:
        patch.setattr(module, name, cheap)
    yield
    patch.undo()


@pytest.fixture
def bound_database(request: pytest.FixtureRequest, settings: Settings) -> None:
    """Every table bound to this test's database: by the app when the test has one, else
    directly (building an app costs ~0.15 s that a service-level test does not need)."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app")
    else:
        db.bind(_pooled(db.make_engine(settings.effective_database_url)), all_tables())


@pytest.fixture
async def database(bound_database: None) -> AsyncIterator[None]:
    """``bound_database``, the test's own PostgreSQL connections kept until it ends."""
    engine = _pooled_engine()
    if engine is not None:
        await engine.keep_connections()
    yield
    if engine is not None:
        await engine.release_connections()


@pytest.fixture
def make_agency(database: None) -> MakeAgency:
    """Create an agency (tests/factories.py: ``agency``)."""
    return factories.agency


@pytest.fixture
def make_person(database: None) -> MakePerson:
    """Create a user (tests/factories.py: ``person``); a new agency unless one is given."""
    return factories.person


@pytest.fixture
def auth_headers(client: AsyncTestClient[Litestar]) -> Callable[[Person], Awaitable[dict[str, str]]]:
    async def login(person: Person) -> dict[str, str]:
        response = await client.post("/api/v1/auth/login", json={"username": person.username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return login


def pytest_configure(config: pytest.Config) -> None:
    databases.run_id()  # fixed in the controller, inherited by the xdist workers
    config.addinivalue_line("markers", "requirement(*ids): the requirement IDs a test proves")
    config.addinivalue_line("markers", "both_engines: run on SQLite and PostgreSQL")
    config.addinivalue_line("markers", "slow: large objects or real server processes")
    _ = db  # the engine module is imported so fixtures can bind it


# --- requirement traceability (docs/DEVELOPING.md, tests) ----------------------------------------------------

_proved: dict[str, list[str]] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    from tests import traceability

    cited = {str(rid) for item in items for mark in item.iter_markers("requirement") for rid in mark.args}
    unknown = traceability.unknown_ids(cited)
    if unknown:
        raise pytest.UsageError(f"tests cite requirement IDs not in docs/requirements.toml: {sorted(unknown)}")
    # The IDs ride on the report (user_properties cross from xdist workers to the controller).
    for item in items:
        for mark in item.iter_markers("requirement"):
            item.user_properties.extend(("requirement", str(rid)) for rid in mark.args)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for key, rid in report.user_properties:
            if key == "requirement":
                _proved.setdefault(str(rid), []).append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests import traceability

    if not hasattr(session.config, "workerinput"):
        traceability.write(_proved)
        server = databases.server_url()
        if server is not None:
            # The template is this run's own (its name carries the run id); workers are done.
            asyncio.run(databases.drop(server, databases.template_name()))
