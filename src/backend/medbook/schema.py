"""Migrations: apply them, and tell whether a database is at the newest one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from medbook.db import connect

MIGRATIONS = Path(__file__).parent / "migrations"

# Tables the migrations write in plain SQL (xid8 has no SQLAlchemy type), and the job queue's
# (procrastinate's own schema, revision 0008): comparing the models with the database leaves them
# out, so autogenerate never proposes to drop them.
SQL_ONLY_TABLES = frozenset({"change_events", "change_feed_horizon"})
JOB_QUEUE_PREFIX = "procrastinate_"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table not in SQL_ONLY_TABLES and not (table or "").startswith(JOB_QUEUE_PREFIX)


class SchemaNotMigratedError(RuntimeError):
    pass


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def upgrade(url: str, revision: str = "head") -> None:
    # env.py runs its own event loop; run it off any loop the caller may have.
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def autogenerate(url: str, message: str) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)


async def current_revision(url: str) -> str | None:
    connection = await connect(url)
    try:
        has_table = await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not has_table:
            return None
        revision: str | None = await connection.fetchval("SELECT version_num FROM alembic_version")
        return revision
    finally:
        await connection.close()


async def ensure_migrated(url: str) -> None:
    """Refuse to serve a database whose schema is not at the newest migration."""
    current = await current_revision(url)
    head = head_revision()
    if current != head:
        raise SchemaNotMigratedError(
            f"the database schema is at {current or 'nothing (empty database)'}, "
            f"but this version of medbook needs {head}: run `medbook migrate` first"
        )


def ensure_migrated_sync(url: str) -> None:
    asyncio.run(ensure_migrated(url))
