"""The hold-expiry announcer: asleep until the next expiry is due, woken early by the feed."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.booking.tasks import LONGEST_SLEEP, HoldExpiry
from medbook.realtime.hub import Hub
from tests.auth import AppClient
from tests.booking.helpers import hold, row
from tests.factories import make_world


@contextlib.asynccontextmanager
async def running(*jobs: HoldExpiry) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(job.run()) for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def hub(database_url: str) -> AsyncIterator[Hub]:
    hub = Hub(database_url, queue_capacity=16, heartbeat_seconds=60)
    await hub.start()
    yield hub
    await hub.stop()


async def wait_for_status(session: AsyncSession, hold_id: str, status: str, within: float) -> None:
    async def poll() -> None:
        while (await row(session, hold_id)).status != status:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), within)


async def test_a_hold_is_expired_at_its_mark_by_a_worker_the_feed_woke_early(
    client: AppClient, session: AsyncSession, hub: Hub
) -> None:
    world = await make_world(session)
    worker = HoldExpiry(client.app.state.sessions)
    hub.watch(worker.notice)
    async with running(worker):
        await asyncio.sleep(0.3)  # nothing held: the worker sleeps LONGEST_SLEEP seconds
        held = await hold(client, world, world.at(10))
        await session.execute(
            text(
                "UPDATE appointments SET hold_expires_at = now() + interval '1 second' WHERE id = :id"
            ),
            {"id": uuid.UUID(held.id)},
        )
        await session.commit()
        await wait_for_status(session, held.id, "expired", within=5)
    expired = await row(session, held.id)
    late = expired.updated_at - expired.hold_expires_at
    assert timedelta(0) <= late < timedelta(seconds=1)
    assert LONGEST_SLEEP > 5  # so only the wake-up can explain an expiry this prompt


async def test_workers_of_several_processes_expire_each_due_hold_once(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    holds = [
        await hold(client, world, world.at(8) + timedelta(minutes=15 * n), client_id=f"p{n}")
        for n in range(3)
    ]
    holds += [
        await hold(
            client, world, world.at(8) + timedelta(minutes=15 * n), doctor=1, client_id=f"q{n}"
        )
        for n in range(3)
    ]
    await session.execute(
        text("UPDATE appointments SET hold_expires_at = now() - interval '1 second'")
    )
    await session.commit()
    workers = [HoldExpiry(client.app.state.sessions) for _ in range(4)]
    async with running(*workers):
        for held in holds:
            await wait_for_status(session, held.id, "expired", within=5)
    expiries = (
        await session.execute(text("SELECT count(*) FROM change_events WHERE status = 'expired'"))
    ).scalar_one()
    await session.commit()
    assert expiries == len(holds)
