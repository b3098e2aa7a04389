"""The hub fanning out a burst bigger than a subscriber's queue, in-process on the real feed.

The hub never waits for a full queue: it detaches that subscriber with the cursor it reached,
and the subscriber reads the rest from the feed (its socket does; see socket.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.db import connect
from medbook.realtime import feed
from medbook.realtime.changes import Channel, Filter
from medbook.realtime.cursor import Cursor
from medbook.realtime.hub import Hub, Subscriber
from tests.factories import SINGAPORE, World, make_world
from tests.realtime.helpers import insert_blocks

CAPACITY = 4
BURST = 20
EVERYTHING = Filter(Channel.STAFF)


@pytest.fixture
async def hub(database_url: str) -> AsyncIterator[Hub]:
    hub = Hub(database_url, queue_capacity=CAPACITY, heartbeat_seconds=60)
    await hub.start()
    yield hub
    await hub.stop()


async def burst(session: AsyncSession, world: World) -> list[str]:
    first = datetime.combine(world.tomorrow, datetime.min.time(), tzinfo=SINGAPORE)
    return await insert_blocks(session, world, BURST, first, timedelta(minutes=1))


async def take(subscriber: Subscriber, count: int, within: float = 3) -> list[dict[str, Any]]:
    """The next `count` changes in the subscriber's queue."""
    changes: list[dict[str, Any]] = []
    for _ in range(count):
        try:
            text = await asyncio.wait_for(subscriber.queue.get(), within)
        except TimeoutError:
            raise AssertionError(f"only {len(changes)} of {count} changes came") from None
        changes.append(json.loads(text)["change"])
    return changes


def ids(changes: list[dict[str, Any]]) -> list[str]:
    return [change["appointment_id"] for change in changes]


async def test_a_full_queue_detaches_its_subscriber_where_it_stood_and_holds_nobody_up(
    session: AsyncSession, hub: Hub, database_url: str
) -> None:
    world = await make_world(session)
    stuck = Subscriber(EVERYTHING, CAPACITY)  # nobody drains it
    reader = Subscriber(EVERYTHING, BURST)
    hub.attach(stuck, hub.position)
    hub.attach(reader, hub.position)

    inserted = await burst(session, world)
    committed = time.monotonic()
    read = await take(reader, BURST)
    took = time.monotonic() - committed

    assert ids(read) == inserted
    assert took < 1.0  # nobody waited for the stuck queue
    assert hub.subscriber_count == 1
    queued = await take(stuck, CAPACITY)
    assert ids(queued) == inserted[:CAPACITY]
    assert stuck.behind == Cursor.parse(queued[-1]["cursor"])
    # What it missed is exactly what the feed holds after where it stood.
    connection = await connect(database_url)
    try:
        rest = await feed.read(connection, stuck.behind, limit=BURST)
    finally:
        await connection.close()
    assert [str(change.appointment_id) for change in rest.changes] == inserted[CAPACITY:]


async def test_a_subscriber_that_keeps_up_stays_attached(session: AsyncSession, hub: Hub) -> None:
    world = await make_world(session)
    reader = Subscriber(EVERYTHING, CAPACITY)
    hub.attach(reader, hub.position)
    first = datetime.combine(world.tomorrow, datetime.min.time(), tzinfo=SINGAPORE)

    # Bursts as big as its queue, each read before the next comes.
    for hour in range(3):
        start = first + timedelta(hours=hour)
        inserted = await insert_blocks(session, world, CAPACITY, start, timedelta(minutes=1))
        assert ids(await take(reader, CAPACITY)) == inserted

    assert reader.behind is None
    assert hub.subscriber_count == 1


async def test_a_hub_stops_at_once_even_when_woken_as_it_is_stopped(database_url: str) -> None:
    # A notification arriving in the same instant as the stop must not swallow the stop (as
    # asyncio.wait_for on Python 3.11 can): the app's shutdown would hang on it.
    for _ in range(20):
        hub = Hub(database_url, queue_capacity=CAPACITY, heartbeat_seconds=60)
        await hub.start()
        await asyncio.sleep(0.01)
        hub._notified()  # what asyncpg calls on a NOTIFY
        asked = time.monotonic()
        await asyncio.wait_for(hub.stop(), 10)
        assert time.monotonic() - asked < 2.0  # milliseconds when it works; for ever if not
