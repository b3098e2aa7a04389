"""Databases the suite and the benchmarks make for themselves, and how the suite empties one
between tests."""

from __future__ import annotations

import asyncpg

from medbook.db import asyncpg_dsn
from medbook.models import Base
from medbook.schema import SQL_ONLY_TABLES

# Never emptied: Alembic's record of the schema, and the job queue's tables (procrastinate's own
# schema, made by its migration, outside our models).
KEPT_TABLES = frozenset({"alembic_version"})
KEPT_PREFIXES = ("procrastinate_",)
# Tables a migration fills and the app only updates: put back as migrated, never emptied (with
# no row, the change feed could not say where pruning has reached).
RESET_TABLES = {"change_feed_horizon": "UPDATE change_feed_horizon SET xid = '0', id = 0"}


def kept(table: str) -> bool:
    return table in KEPT_TABLES or table.startswith(KEPT_PREFIXES)


def wiped_tables() -> list[str]:
    """Every table of the models and of the migrations' plain SQL, children before parents."""
    in_models = [table.name for table in reversed(Base.metadata.sorted_tables)]
    sql_only = sorted(SQL_ONLY_TABLES - set(in_models) - RESET_TABLES.keys())
    return sql_only + in_models


async def recreate_database(admin_url: str, name: str) -> None:
    """An empty database called `name` on the server of `admin_url`, dropping any old one."""
    connection = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
