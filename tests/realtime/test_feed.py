"""The change feed in the database: every change recorded in its own transaction, and read in
an order no later commit can slip in behind, over many real concurrent connections."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.db import connect
from medbook.realtime import feed
from medbook.realtime.cursor import Cursor
from tests.auth import AppClient
from tests.booking.helpers import CHECKOUT, age_hold, hold
from tests.factories import World, make_world

_INSERT_BLOCK = """
INSERT INTO appointments (kind, status, clinic_id, practitioner_id, starts_at, ends_at, blocked)
VALUES ('block', 'blocked', $1, $2, $3::timestamptz, $3::timestamptz + interval '1 minute',
        tstzrange($3::timestamptz, $3::timestamptz + interval '1 minute', '[)'))
RETURNING id
"""


async def write_block(connection: asyncpg.Connection, world: World, minute: int) -> None:
    """One change: a one-minute block, each `minute` its own time so none collide."""
    start = world.at(0) + timedelta(minutes=minute)
    await connection.execute(_INSERT_BLOCK, world.clinic.id, world.doctors[0].id, start)


async def feed_rows(session: AsyncSession) -> list[tuple[str, str | None]]:
    rows = (
        await session.execute(
            text("SELECT status, previous_status FROM change_events ORDER BY xid, id")
        )
    ).all()
    await session.commit()
    return [(row.status, row.previous_status) for row in rows]


async def test_each_change_of_an_appointment_is_on_the_feed_with_what_it_was_before(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))
    await client.post(f"/api/v1/holds/{held.id}/confirm", json=CHECKOUT, headers=held.headers)
    # A note alone is not news for any calendar.
    await session.execute(text("UPDATE appointments SET note = 'bring x-rays'"))
    await session.commit()
    cancelled = await client.post(
        f"/api/v1/appointments/{held.id}/cancel", json={}, headers=held.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await feed_rows(session) == [
        ("held", None),
        ("confirmed", "held"),
        ("cancelled", "confirmed"),
    ]


async def test_a_stale_hold_expired_by_the_next_hold_is_on_the_feed_too(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    stale = await hold(client, world, world.at(10), client_id="first")
    await age_hold(session, stale.id, timedelta(seconds=300))
    await hold(client, world, world.at(10), client_id="second")
    rows = await feed_rows(session)
    assert ("expired", "held") in rows
    assert rows[-1] == ("held", None)


async def test_a_transaction_that_commits_after_a_later_one_is_not_lost(
    session: AsyncSession, database_url: str
) -> None:
    world = await make_world(session)
    first, second, reader = [await connect(database_url) for _ in range(3)]
    try:
        start = (await feed.read(reader, Cursor.ORIGIN, limit=0)).head
        await first.execute("BEGIN")
        await write_block(first, world, 0)  # event id n, older transaction
        await second.execute("BEGIN")
        await write_block(second, world, 1)  # event id n+1, newer transaction
        await second.execute("COMMIT")

        # An id-ordered reader would now see only the second event and move past the first.
        visible = await reader.fetch("SELECT id FROM change_events WHERE id > 0")
        assert len(visible) == 1
        page = await feed.read(reader, start, limit=100)
        assert page.changes == []
        assert page.held_back  # the committed event waits for the older transaction

        await first.execute("COMMIT")
        page = await feed.read(reader, start, limit=100)
        assert [change.starts_at for change in page.changes] == [
            world.at(0),
            world.at(0) + timedelta(minutes=1),
        ]
        assert not page.held_back
        assert (await feed.read(reader, page.changes[-1].cursor, limit=100)).changes == []
    finally:
        for connection in (first, second, reader):
            await connection.close()


async def test_an_older_transaction_writing_last_still_comes_first_and_once(
    session: AsyncSession, database_url: str
) -> None:
    world = await make_world(session)
    first, second, reader = [await connect(database_url) for _ in range(3)]
    try:
        start = (await feed.read(reader, Cursor.ORIGIN, limit=0)).head
        await first.execute("BEGIN")
        await first.fetchval("SELECT pg_current_xact_id()")  # the older transaction id
        await second.execute("BEGIN")
        await write_block(second, world, 1)
        await second.execute("COMMIT")
        await write_block(first, world, 0)  # a larger event id, in the older transaction
        seen = (await feed.read(reader, start, limit=100)).changes
        assert seen == []
        await first.execute("COMMIT")
        seen = (await feed.read(reader, start, limit=100)).changes
        assert [change.starts_at.astimezone(world.at(0).tzinfo).minute for change in seen] == [0, 1]
        assert seen[0].cursor.id > seen[1].cursor.id  # ids disagree with commit order
    finally:
        for connection in (first, second, reader):
            await connection.close()


async def test_a_reader_polling_through_many_concurrent_out_of_order_commits_gets_each_event_once(
    session: AsyncSession, database_url: str
) -> None:
    world = await make_world(session)
    writers, transactions_each = 16, 8
    reader = await connect(database_url)
    start = (await feed.read(reader, Cursor.ORIGIN, limit=0)).head
    minutes = iter(range(100_000))
    rng = random.Random(4)
    done = asyncio.Event()

    async def write(number: int) -> None:
        connection = await connect(database_url)
        try:
            for _ in range(transactions_each):
                await connection.execute("BEGIN")
                for _ in range(rng.choice((1, 1, 2))):
                    await write_block(connection, world, next(minutes))
                    await asyncio.sleep(rng.uniform(0, 0.01))
                await asyncio.sleep(rng.uniform(0, 0.02))  # commit late, after others
                await connection.execute("COMMIT")
        finally:
            await connection.close()

    delivered: list[Cursor] = []
    held_back_seen = 0

    async def read() -> None:
        nonlocal held_back_seen
        cursor = start
        while True:
            finished = done.is_set()
            page = await feed.read(reader, cursor, limit=7)
            held_back_seen += page.held_back
            delivered.extend(change.cursor for change in page.changes)
            if page.changes:
                cursor = page.changes[-1].cursor
            elif finished and not page.held_back:
                return
            await asyncio.sleep(0.001)

    reading = asyncio.create_task(read())
    await asyncio.gather(*(write(number) for number in range(writers)))
    done.set()
    await asyncio.wait_for(reading, 30)
    await reader.close()

    everything = [
        Cursor(int(row.xid), row.id)
        for row in (
            await session.execute(
                text("SELECT xid::text AS xid, id FROM change_events ORDER BY xid, id")
            )
        ).all()
    ]
    await session.commit()
    assert len(everything) >= writers * transactions_each
    assert delivered == everything  # each once, none missing, in commit-safe order
    assert held_back_seen > 0  # commits really did land out of order while the reader read


async def test_pruning_drops_old_events_and_moves_the_horizon(
    session: AsyncSession, database_url: str
) -> None:
    world = await make_world(session)
    connection = await connect(database_url)
    try:
        for minute in range(3):
            await write_block(connection, world, minute)
        rows = await connection.fetch(
            "SELECT id, xid::text AS xid FROM change_events ORDER BY xid, id"
        )
        await connection.execute(
            "UPDATE change_events SET recorded_at = now() - interval '8 days' WHERE id <> $1",
            rows[-1]["id"],
        )
        assert await feed.prune(connection, retention_days=7) == 2
        page = await feed.read(connection, Cursor.ORIGIN, limit=10)
        assert page.horizon == Cursor(int(rows[1]["xid"]), rows[1]["id"])
        assert [change.cursor.id for change in page.changes] == [rows[2]["id"]]
        assert await feed.prune(connection, retention_days=7) == 0
    finally:
        await connection.close()
