"""The job tests' fixtures: an empty queue, the marks table the test tasks write, and a worker
running in this process (for tests that need no process of their own)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from procrastinate import PsycopgConnector
from procrastinate.periodic import PeriodicRegistry
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import tests.jobs.tasks  # noqa: F401  (registers the tests' tasks)
from medbook.checkout.service import Gateways
from medbook.db import libpq_url, session_factory
from medbook.jobs.app import jobs
from medbook.payments.service import configured_gateway
from medbook.settings import get_settings
from medbook.worker.tasks import RESOURCES, WorkerResources
from tests.jobs.tasks import CREATE_MARKS, MARKS

QUEUE_TABLES = (
    "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers"
)


@pytest.fixture
async def queue(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """An empty job queue and an empty marks table; the session reads them."""
    await session.execute(text(f"TRUNCATE {QUEUE_TABLES} RESTART IDENTITY CASCADE"))
    await session.execute(text(CREATE_MARKS))
    await session.commit()
    yield session
    await session.rollback()
    # Not left behind: the schema comparison test would find a table no model has.
    await session.execute(text(f"DROP TABLE IF EXISTS {MARKS}"))
    await session.commit()


@pytest.fixture
def worker_in_process(
    database_url: str, engine: AsyncEngine
) -> Callable[..., contextlib.AbstractAsyncContextManager[None]]:
    """A procrastinate worker on this event loop, with no periodic tasks, polling often."""

    @contextlib.asynccontextmanager
    async def run(**options: Any) -> AsyncIterator[None]:
        settings = get_settings()
        sessions = session_factory(engine)
        pool = AsyncConnectionPool(libpq_url(database_url), min_size=1, max_size=6, open=False)
        await pool.open(wait=True)
        jobs.periodic_registry = PeriodicRegistry()
        try:
            # A connector of its own each time: procrastinate keeps an external pool after
            # closing, and a second test would get the first one's, closed.
            async with httpx.AsyncClient() as outbound:
                found = WorkerResources(
                    settings, sessions, Gateways(configured_gateway(settings, outbound), sessions)
                )
                with jobs.replace_connector(PsycopgConnector()):
                    async with jobs.open_async(pool=pool):
                        worker = asyncio.create_task(
                            jobs.run_worker_async(
                                install_signal_handlers=False,
                                fetch_job_polling_interval=0.1,
                                additional_context={RESOURCES: found},
                                concurrency=2,
                                **options,
                            )
                        )
                        try:
                            yield
                        finally:
                            worker.cancel()
                            with contextlib.suppress(asyncio.CancelledError):
                                await worker
        finally:
            await pool.close()

    return run


async def marks(session: AsyncSession, key: str) -> list[tuple[str, int]]:
    rows = await session.execute(
        text(f"SELECT what, attempt FROM {MARKS} WHERE key = :key ORDER BY id"), {"key": key}
    )
    found = [(row.what, row.attempt) for row in rows]
    await session.commit()
    return found


async def eventually(condition: Callable[[], Any], seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while not await condition():
            await asyncio.sleep(0.05)
