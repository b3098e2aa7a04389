"""`medbook worker`: runs the queue's jobs and, in one process of the deployment, announces
hold expiries. Any number may run, on any number of machines; all state is in PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable
from functools import partial
from typing import Any

from procrastinate.worker import Worker
from psycopg_pool import AsyncConnectionPool

from medbook.booking.tasks import announce_hold_expiries
from medbook.checkout.service import Gateways
from medbook.db import create_engine, libpq_url, session_factory
from medbook.jobs.app import jobs
from medbook.jobs.leader import lead
from medbook.outbound import outbound_client
from medbook.payments.service import configured_gateway
from medbook.realtime.feed import NOTIFY_CHANNEL
from medbook.settings import Settings
from medbook.worker.tasks import RESOURCES, WorkerResources, schedule

log = logging.getLogger(__name__)

HOLD_EXPIRY = "medbook.hold_expiry"
# How long a stopping worker lets running jobs finish; then they are aborted and, for tasks
# with retries, queued again.
SHUTDOWN_GRACE_SECONDS = 30.0
RESTART_LONGEST_PAUSE = 30.0


async def _run_until_stopped(**options: Any) -> None:
    """procrastinate's worker, started again whenever it stops without being asked to.

    It stops by itself when one of its side tasks fails (its LISTEN connection or its
    heartbeat lost with the database, say): the process must not then end quietly, leaving no
    worker. A signal stops it for good."""
    stopping = asyncio.Event()
    current: Worker | None = None

    def stop() -> None:
        stopping.set()
        if current is not None:
            current.stop()  # type: ignore[no-untyped-call]

    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop)
    jobs.perform_import_paths()  # type: ignore[no-untyped-call]
    failures = 0
    try:
        while not stopping.is_set():
            current = Worker(app=jobs, install_signal_handlers=False, **options)
            await current.run()  # type: ignore[no-untyped-call]
            if stopping.is_set():
                return
            failures += 1
            pause = min(2.0**failures, RESTART_LONGEST_PAUSE)
            log.warning("the job worker stopped by itself; starting it again in %.0f s", pause)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await stopping.wait()
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


async def run_worker(
    settings: Settings,
    url: str,
    *,
    concurrency: int,
    hold_expiry: bool,
    queues: Iterable[str] | None = None,
) -> None:
    """Run until SIGINT or SIGTERM, which stop it gracefully (running jobs may finish)."""

    schedule(settings)
    # Unlike a request (answered 503 and retried by its client), a job would spend one of its
    # attempts on a connection the database dropped (a failover, a restart): test each first.
    engine = create_engine(
        url,
        settings.model_copy(update={"db_pool_pre_ping": True}),
        application_name="medbook-worker",
    )
    outbound = outbound_client(settings)
    sessions = session_factory(engine)
    found = WorkerResources(
        settings=settings,
        sessions=sessions,
        gateways=Gateways(configured_gateway(settings, outbound), sessions),
    )
    pool = AsyncConnectionPool(
        libpq_url(url),
        min_size=1,
        # Each running job's bookkeeping, the heartbeat, the periodic deferrer; procrastinate's
        # LISTEN connection is its own.
        max_size=concurrency + 3,
        open=False,
        check=AsyncConnectionPool.check_connection,
        kwargs={"application_name": "medbook-worker"},
    )
    announcer: asyncio.Task[None] | None = None
    lead_engine = create_engine(url, settings, application_name="medbook-hold-expiry")
    try:
        await pool.open(wait=True, timeout=30)
        async with jobs.open_async(pool=pool):
            if hold_expiry:
                announcer = asyncio.create_task(
                    lead(
                        lead_engine,
                        HOLD_EXPIRY,
                        partial(announce_hold_expiries, channel=NOTIFY_CHANNEL),
                    ),
                    name="hold-expiry",
                )
            log.info(
                "worker started: %d job(s) at once, hold expiry %s",
                concurrency,
                "in the running" if hold_expiry else "left to other workers",
            )
            await _run_until_stopped(
                queues=list(queues) if queues else None,
                concurrency=concurrency,
                additional_context={RESOURCES: found},
                fetch_job_polling_interval=settings.job_poll_seconds,
                update_heartbeat_interval=settings.job_heartbeat_seconds,
                stalled_worker_timeout=settings.job_stalled_after_seconds,
                shutdown_graceful_timeout=SHUTDOWN_GRACE_SECONDS,
            )
    finally:
        if announcer is not None:
            announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await announcer
        await pool.close()
        await lead_engine.dispose()
        await engine.dispose()
        await outbound.aclose()
