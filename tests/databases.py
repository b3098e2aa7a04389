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


# Every sequence of these tables (serial and identity columns) back at its start, as
# TRUNCATE ... RESTART IDENTITY would leave it.
RESTART_SEQUENCES = """
SELECT setval(s.oid, p.start_value, false) FROM pg_class s
JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_sequences p ON p.schemaname = 'public' AND p.sequencename = s.relname
WHERE t.relname IN ({tables}) AND p.last_value IS NOT NULL
"""


def kept(table: str) -> bool:
    return table in KEPT_TABLES or table.startswith(KEPT_PREFIXES)


def wiped_tables() -> list[str]:
    """Every table of the models, children before parents, then the migrations' plain-SQL
    tables: the wipe locks them in this order, and the feed's trigger writes a change event
    after its appointment, never before."""
    in_models = [table.name for table in reversed(Base.metadata.sorted_tables)]
    sql_only = sorted(SQL_ONLY_TABLES - set(in_models) - RESET_TABLES.keys())
    return [table for table in in_models + sql_only if not kept(table)]


async def wipe(connection: asyncpg.Connection) -> None:
    """Put every table back as migrated, in one transaction.

    Faster than one TRUNCATE of every table (new files for each table and index: 15-75 ms,
    against 3-10 ms here) with the same end: DELETE empties the tables that have rows, children
    first; a table with a DELETE trigger of its own (the audit log's refuses it) is truncated,
    which fires no row trigger; every sequence starts over. The lock comes first, so that, as
    with TRUNCATE, the wipe waits for any transaction of the last test still writing.
    """
    # A live worker of the last test (a stack's, say) may take two of these tables in another
    # order: PostgreSQL then breaks the deadlock by failing one side, and a wipe can try again.
    for attempt in range(3):
        try:
            await _wipe_once(connection)
            return
        except asyncpg.DeadlockDetectedError:
            if attempt == 2:
                raise


async def _wipe_once(connection: asyncpg.Connection) -> None:
    tables = wiped_tables()
    async with connection.transaction():
        await connection.execute(
            f"LOCK TABLE {', '.join([*tables, *RESET_TABLES])} IN ACCESS EXCLUSIVE MODE"
        )
        filled = await connection.fetch(
            "SELECT name, EXISTS (SELECT FROM pg_trigger WHERE tgrelid = name::regclass "
            "AND NOT tgisinternal AND tgtype & 8 <> 0) AS refuses_delete FROM ("
            + " UNION ALL ".join(
                f"SELECT '{table}' AS name WHERE EXISTS (SELECT FROM {table})" for table in tables
            )
            + ") AS filled"
        )
        truncated = [row["name"] for row in filled if row["refuses_delete"]]
        deleted = {row["name"] for row in filled if not row["refuses_delete"]}
        statements = [f"TRUNCATE {', '.join(truncated)}"] if truncated else []
        statements += [f"DELETE FROM {table}" for table in tables if table in deleted]
        statements.append(RESTART_SEQUENCES.format(tables=", ".join(f"'{t}'" for t in tables)))
        statements += RESET_TABLES.values()
        await connection.execute(";\n".join(statements))


async def recreate_database(admin_url: str, name: str) -> None:
    """An empty database called `name` on the server of `admin_url`, dropping any old one."""
    connection = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
