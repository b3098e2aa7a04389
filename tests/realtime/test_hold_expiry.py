"""The hold-expiry announcer: asleep until the next expiry is due, woken early by the change
feed's NOTIFY; only the process holding the lead runs it (its process-level story is in
tests/jobs/test_worker_processes.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook.booking.tasks import LONGEST_SLEEP, HoldExpiry, announce_hold_expiries
from medbook.db import create_engine
from medbook.jobs.leader import lead
from medbook.realtime.feed import NOTIFY_CHANNEL
from tests.auth import AppClient
from tests.booking.helpers import age_hold, hold, row
from tests.factories import make_world


@contextlib.asynccontextmanager
async def running(*jobs: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def lead_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, application_name="medbook-hold-expiry")
    yield engine
    await engine.dispose()


async def wait_for_status(session: AsyncSession, hold_id: str, status: str, within: float) -> None:
    async def poll() -> None:
        while (await row(session, hold_id)).status != status:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), within)


async def test_a_hold_is_expired_at_its_mark_by_the_leader_the_feed_woke_early(
    client: AppClient, session: AsyncSession, lead_engine: AsyncEngine
) -> None:
    world = await make_world(session)
    async with running(
        lead(
            lead_engine, "test.hold_expiry", partial(announce_hold_expiries, channel=NOTIFY_CHANNEL)
        )
    ):
        await asyncio.sleep(0.5)  # nothing held: the announcer sleeps LONGEST_SLEEP seconds
        held = await hold(client, world, world.at(10))
        await age_hold(session, held.id, timedelta(seconds=299))  # runs out in 1 s
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
    # Should two processes ever announce at once (the lead is a courtesy, not a guarantee).
    workers = [HoldExpiry(client.app.state.sessions) for _ in range(4)]
    async with running(*(worker.run() for worker in workers)):
        for held in holds:
            await wait_for_status(session, held.id, "expired", within=5)
    expiries = (
        await session.execute(text("SELECT count(*) FROM change_events WHERE status = 'expired'"))
    ).scalar_one()
    await session.commit()
    assert expiries == len(holds)
