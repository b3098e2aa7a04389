"""Test infrastructure: a real, freshly migrated PostgreSQL for the whole run.

By default the embedded server (its own data folder, .data/test-postgres) with a database
created anew for each run. With TEST_DATABASE_URL set (e.g. the machine's PostgreSQL 15 at
postgresql://postgres@127.0.0.1:5432/test), that database is wiped and migrated instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook import schema
from medbook.data_key import generate_data_key
from medbook.db import asyncpg_dsn, create_engine, session_factory, start_embedded_server
from medbook.identity.keys import generate_key_set, rp_keys_path
from medbook.kernel.permissions import Role
from medbook.settings import REPO_ROOT, get_settings
from tests.auth import AppClient, SignedIn, sign_in_staff
from tests.databases import recreate_database, wipe
from tests.live import LiveServer, free_port, start_live_server, stop_live_server

# Property tests search at random on a developer's machine (new cases each run find new bugs)
# and replay the same cases in CI (.ci/run sets HYPOTHESIS_PROFILE=ci: hypothesis's own "ci"
# profile, derandomized), so a landing never fails on a case nobody ran before.
if os.environ.get("HYPOTHESIS_PROFILE"):
    hypothesis_settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])

# One database per run, so parallel runs (two developers, two terminals) never collide.
TEST_DATABASE = f"medbook_test_{os.getpid()}"
# No hold-expiry announcer unless a test asks for one: tests that age a hold by hand want to see
# what the booking path itself makes of it. The API never runs it; a `medbook worker` a test
# starts does only with MEDBOOK_HOLD_EXPIRY_WORKER=true (the real-time and browser tests').
os.environ["MEDBOOK_HOLD_EXPIRY_WORKER"] = "false"


async def _wipe_schema(url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


async def _drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session", autouse=True)
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Throwaway key material for the run; the app and any server the tests start use it."""
    directory = tmp_path_factory.mktemp("keys")
    generate_data_key(directory)
    generate_key_set(rp_keys_path(directory), rotate=False)
    previous = os.environ.get("MEDBOOK_KEYS_DIR")
    os.environ["MEDBOOK_KEYS_DIR"] = str(directory)
    get_settings.cache_clear()
    yield directory
    if previous is None:
        os.environ.pop("MEDBOOK_KEYS_DIR", None)
    else:
        os.environ["MEDBOOK_KEYS_DIR"] = previous
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated database; the app and any server the tests start use it too."""
    given = os.environ.get("TEST_DATABASE_URL")
    admin_url = None
    if given and os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.exit("TEST_DATABASE_URL names one database: run those tests in one process (-n 0)")
    if given:
        asyncio.run(_wipe_schema(given))
        url = given
    else:
        # A server of its own for each parallel worker (`make test` runs two): the change feed
        # reads behind the oldest transaction in the whole server, so a worker's long test
        # would hold the other's feed back.
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        folder = f"test-postgres-{worker}" if worker else "test-postgres"
        server = start_embedded_server(REPO_ROOT / ".data" / folder)
        admin_url = server.get_uri("postgres")
        asyncio.run(recreate_database(admin_url, TEST_DATABASE))
        url = server.get_uri(TEST_DATABASE)
    schema.upgrade(url)
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    from medbook import db

    db.database_url.cache_clear()
    yield url
    if admin_url is not None:
        asyncio.run(_drop_database(admin_url, TEST_DATABASE))


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, get_settings())
    yield engine
    await engine.dispose()


async def truncate_all(engine: AsyncEngine) -> None:
    """Every table as the migrations left it (see tests/databases.py)."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        await wipe(raw.driver_connection)


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session on an empty database. Tests commit what they set up, as the app would."""
    await truncate_all(engine)
    async with session_factory(engine)() as session:
        yield session


@pytest.fixture
async def client(session: AsyncSession) -> AsyncIterator[AppClient]:
    """The app in-process, with its lifespan, over a real database."""
    from medbook.app import create_app

    app = create_app()
    async with (
        app.router.lifespan_context(app),
        AppClient(app, base_url="https://testserver") as http,
    ):
        yield http


@pytest.fixture
async def staff(session: AsyncSession) -> SignedIn:
    """A receptionist and clinic manager at every clinic, signed in with both factors."""
    return await sign_in_staff(session, (Role.RECEPTIONIST, None), (Role.CLINIC_MANAGER, None))


@pytest.fixture
def staff_headers(staff: SignedIn) -> dict[str, str]:
    return staff.headers


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Redis for the tests of counters shared between processes: the machine's service at
    127.0.0.1:6379 (CI starts one), else a private redis-server if the machine has the
    program, else the tests that need it are skipped with the reason."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex(("127.0.0.1", 6379)) == 0:
            yield "redis://127.0.0.1:6379"
            return
    program = shutil.which("redis-server")
    if program is None:
        pytest.skip("needs Redis at 127.0.0.1:6379 or the redis-server program")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The API as a real uvicorn process on a real port, for tests that need real connections."""
    server = start_live_server(database_url, tmp_path_factory.mktemp("server") / "server.log")
    yield server
    stop_live_server(server)
