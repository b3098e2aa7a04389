"""Every test starts from the database as migrated: the wipe between tests (tests/databases.py)
reaches every table a migration makes, so no test's rows leak into the next."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import AppClient, sign_in_staff
from tests.booking.helpers import book
from tests.conftest import truncate_all
from tests.databases import RESET_TABLES, kept, wiped_tables
from tests.factories import make_world

PUBLIC_TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
"""


async def rows_per_table(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {
            table: (await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in wiped_tables()
        }


async def advanced_sequences(engine: AsyncEngine) -> list[str]:
    """The wiped tables' sequences (serial and identity columns) that have handed out a value."""
    async with engine.connect() as connection:
        names = await connection.execute(
            text(
                "SELECT s.relname FROM pg_class s "
                "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
                "JOIN pg_class t ON t.oid = d.refobjid "
                "JOIN pg_sequences p ON p.schemaname = 'public' AND p.sequencename = s.relname "
                "WHERE t.relname = ANY(:tables) AND p.last_value IS NOT NULL ORDER BY 1"
            ),
            {"tables": wiped_tables()},
        )
        return list(names.scalars())


async def test_every_table_the_migrations_make_is_wiped_between_tests(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        in_database = set((await connection.exec_driver_sql(PUBLIC_TABLES)).scalars())

    missed = sorted(
        table
        for table in in_database
        if table not in wiped_tables() and table not in RESET_TABLES and not kept(table)
    )
    assert missed == [], (
        f"the wipe between tests misses {missed}, so one test's rows would be the next one's: "
        "give the table a model (medbook/models.py), or name it in tests/databases.py"
    )
    assert set(wiped_tables()) | RESET_TABLES.keys() <= in_database


async def test_the_wipe_leaves_every_table_as_migrated(
    client: AppClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, None))
    await book(client, world, world.at(9))
    await session.execute(
        text("INSERT INTO audit_events (action) VALUES ('test.wipe')"),
    )
    await session.execute(
        text("INSERT INTO staff_sign_in_throttles (account_key, staff_id) VALUES (:key, :staff)"),
        {"key": hashlib.sha256(b"wipe").digest(), "staff": staff.id},
    )
    await session.execute(text("UPDATE change_feed_horizon SET xid = pg_current_xact_id(), id = 1"))
    await session.commit()
    before = await rows_per_table(engine)
    sequences_before = await advanced_sequences(engine)

    await truncate_all(engine)

    assert sum(1 for count in before.values() if count) >= 15, before
    assert {"audit_events_id_seq", "change_events_id_seq"} <= set(sequences_before)
    assert await rows_per_table(engine) == dict.fromkeys(wiped_tables(), 0)
    assert await advanced_sequences(engine) == [], "a sequence goes on from the last test's"
    async with engine.connect() as connection:
        horizon = await connection.exec_driver_sql("SELECT xid::text, id FROM change_feed_horizon")
        assert horizon.all() == [("0", 0)]
