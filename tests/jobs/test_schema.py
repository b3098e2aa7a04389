"""The job queue's schema comes from our own migration history, frozen at the pinned version."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from procrastinate.schema import SchemaManager

import medbook.migrations

MIGRATIONS = Path(medbook.migrations.__file__).parent
PINNED = "3.10.0"


def test_the_installed_procrastinate_is_the_one_our_migrations_installed() -> None:
    # Upgrading procrastinate: add a revision applying its sql/migrations files after PINNED,
    # then move PINNED (and the schema file below stays as it is: revision 0008 uses it).
    assert version("procrastinate") == PINNED, (
        "procrastinate was upgraded: write a migration applying its new schema migrations "
        "(see docs/architecture/0013-worker-job-queue.md)"
    )
    frozen = (MIGRATIONS / "sql" / f"procrastinate-{PINNED}-schema.sql").read_text()
    assert frozen == SchemaManager.get_schema()


async def test_the_migrated_database_has_the_job_queue(database_url: str) -> None:
    from medbook.db import connect

    connection = await connect(database_url)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'procrastinate%' ORDER BY 1"
        )
        functions = await connection.fetchval(
            "SELECT count(*) FROM pg_proc WHERE proname = 'procrastinate_defer_jobs_v1'"
        )
    finally:
        await connection.close()
    assert [row["tablename"] for row in tables] == [
        "procrastinate_events",
        "procrastinate_jobs",
        "procrastinate_periodic_defers",
        "procrastinate_workers",
    ]
    assert functions == 1
