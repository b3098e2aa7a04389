"""The platform's set-up promises: migrations, readiness, settings, the API document."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from medbook import schema
from medbook.db import asyncpg_dsn
from medbook.models import Base
from medbook.openapi import openapi_json
from medbook.settings import REPO_ROOT, Settings


@pytest.fixture
def scratch_database(database_url: str) -> Iterator[str]:
    """An empty database on the same server, dropped afterwards."""
    name = f"medbook_scratch_{os.getpid()}"
    admin = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(asyncpg_dsn(admin))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_models_and_the_migrations_agree(database_url: str) -> None:
    sync_url = make_url(database_url).set(drivername="postgresql+psycopg")
    try:
        engine = create_sync_engine(sync_url)
    except ModuleNotFoundError:
        pytest.fail("psycopg is needed to compare the schema")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": schema.include_object}
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], "models changed without a migration: run `medbook make-migration`"


def test_every_migration_downgrades_and_upgrades_cleanly(scratch_database: str) -> None:
    schema.upgrade(scratch_database)
    schema.downgrade(scratch_database, "base")
    assert asyncio.run(schema.current_revision(scratch_database)) is None
    schema.upgrade(scratch_database)
    assert asyncio.run(schema.current_revision(scratch_database)) == schema.head_revision()


def test_serve_refuses_an_unmigrated_database_and_says_what_to_do(scratch_database: str) -> None:
    environment = {**os.environ, "DATABASE_URL": scratch_database}
    result = subprocess.run(
        [sys.executable, "-m", "medbook", "serve", "--port", "1"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "medbook migrate" in result.stderr


def test_serve_refuses_to_start_without_keys_and_says_what_to_do(
    database_url: str, tmp_path: Path
) -> None:
    environment = {**os.environ, "DATABASE_URL": database_url, "MEDBOOK_KEYS_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "medbook", "serve", "--port", "1"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "medbook keys generate" in result.stderr


def test_check_reports_an_unmigrated_database(scratch_database: str) -> None:
    environment = {**os.environ, "DATABASE_URL": scratch_database}
    result = subprocess.run(
        [sys.executable, "-m", "medbook", "check"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "not ready" in result.stderr


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


async def test_readiness_is_503_when_the_schema_is_behind(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with engine.begin() as connection:
        await connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'older'")
    try:
        ready = await client.get("/readyz")
    finally:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                f"UPDATE alembic_version SET version_num = '{schema.head_revision()}'"
            )
    assert ready.status_code == 503
    assert ready.json()["checks"]["migrations"].startswith("at older")


def test_the_exported_openapi_document_is_current() -> None:
    exported = (REPO_ROOT / "docs" / "api" / "openapi.json").read_text()
    assert exported == openapi_json(), "docs/api/openapi.json is stale: run `make openapi`"


def test_env_example_lists_every_setting_with_its_default() -> None:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    listed = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    expected = {
        "DATABASE_URL" if name == "database_url" else f"MEDBOOK_{name.upper()}"
        for name in Settings.model_fields
    }
    assert listed == expected


async def test_unknown_paths_and_methods_answer_problem_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = await client.put("/api/v1/holds")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"
