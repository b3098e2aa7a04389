"""`medbook worker` as real processes on the suite's database: a periodic job runs once per
period however many workers offer it, a job whose worker is killed mid-run is run again, and
hold expiries are announced by one worker at a time, another taking over when it dies."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook.db import session_factory
from medbook.jobs.defer import defer
from tests.auth import AppClient
from tests.booking.helpers import age_hold, hold, row
from tests.factories import make_world
from tests.jobs.conftest import eventually, marks
from tests.jobs.tasks import record, slow
from tests.live import WorkerProcess, start_worker, stop_worker

# Quick enough for a test: a worker silent for 2 s is dead, and looked for every second.
FAST_RECOVERY = {
    "MEDBOOK_JOB_HEARTBEAT_SECONDS": "0.5",
    "MEDBOOK_JOB_STALLED_AFTER_SECONDS": "2",
    "MEDBOOK_JOB_STALLED_CHECK_SECONDS": "1",
    "MEDBOOK_JOB_POLL_SECONDS": "0.2",
}


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Workers a test starts; all stopped afterwards (the killed ones are already gone)."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            stop_worker(worker)
        assert "Traceback" not in worker.log or worker.process.returncode == -signal.SIGKILL, (
            worker.log[-5000:]
        )


def kill(worker: WorkerProcess) -> None:
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait(10)


async def test_two_workers_run_a_periodic_job_once_per_period(
    queue: AsyncSession, database_url: str, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    every_second = {"MEDBOOK_PAYMENT_RECONCILE_SECONDS": "1"}
    workers += await asyncio.gather(
        *(
            asyncio.to_thread(start_worker, database_url, tmp_path / f"{name}.log", **every_second)
            for name in ("a", "b")
        )
    )
    both_from = time.time()
    await asyncio.sleep(6)
    both_until = time.time()
    for worker in workers:
        await asyncio.to_thread(stop_worker, worker)

    periods = (
        await queue.execute(
            text(
                """
                SELECT (args->>'timestamp')::bigint AS period, count(*) AS jobs,
                       count(*) FILTER (WHERE status = 'succeeded') AS succeeded
                  FROM procrastinate_jobs WHERE task_name = 'payments.reconcile'
                 GROUP BY 1 ORDER BY 1
                """
            )
        )
    ).all()
    await queue.commit()
    # Each period's start (on the cron's clock) while both workers were offering it.
    contested = [p for p in periods if both_from + 1 <= p.period <= both_until - 1]
    print(
        f"\n{len(periods)} periods, {len(contested)} with both workers running; deferred by a: "
        f"{workers[0].log.count('Periodic job payments.reconcile')}, by b: "
        f"{workers[1].log.count('Periodic job payments.reconcile')}"
    )
    assert len(contested) >= 3
    assert [p.jobs for p in periods] == [1] * len(periods)
    assert all(p.succeeded == 1 for p in contested)


async def test_a_job_whose_worker_is_killed_mid_run_is_run_again_not_lost(
    queue: AsyncSession, engine: AsyncEngine, database_url: str, tmp_path: Path, workers: list
) -> None:
    async with session_factory(engine)() as request:
        job_id = await defer(request, slow, key="killed")
        await request.commit()
    first = await asyncio.to_thread(
        start_worker,
        database_url,
        tmp_path / "first.log",
        module="tests.jobs.worker_main",
        **FAST_RECOVERY,
    )
    workers.append(first)
    await eventually(lambda: marks(queue, "killed"))  # it started, and now hangs

    kill(first)
    killed_at = time.monotonic()
    second = await asyncio.to_thread(
        start_worker,
        database_url,
        tmp_path / "second.log",
        module="tests.jobs.worker_main",
        **FAST_RECOVERY,
    )
    workers.append(second)

    async def finished() -> bool:
        return ("finished", 1) in await marks(queue, "killed")

    await eventually(finished, seconds=30)
    print(f"\nrun again {time.monotonic() - killed_at:.1f} s after its worker was killed")
    assert await marks(queue, "killed") == [("started", 0), ("finished", 1)]
    status = await queue.scalar(
        text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
    )
    events = (
        (
            await queue.execute(
                text("SELECT type::text FROM procrastinate_events WHERE job_id = :id ORDER BY id"),
                {"id": job_id},
            )
        )
        .scalars()
        .all()
    )
    await queue.commit()
    assert status == "succeeded"
    assert events[:2] == ["deferred", "started"]
    assert "deferred_for_retry" in events
    assert events.count("started") == 2
    assert events[-1] == "succeeded"
    assert f"job {job_id} (tests.slow) died with its worker: queued again" in second.log


LEADER = "medbook.hold_expiry: this process took the lead"
LOCK_HOLDERS = text(
    """
    SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'medbook-hold-expiry'
       AND a.datname = current_database()
    """
)


async def test_one_worker_announces_hold_expiries_and_another_takes_over_when_it_dies(
    client: AppClient,
    session: AsyncSession,
    database_url: str,
    tmp_path: Path,
    workers: list[WorkerProcess],
) -> None:
    world = await make_world(session)
    workers += await asyncio.gather(
        *(
            asyncio.to_thread(
                start_worker,
                database_url,
                tmp_path / f"{name}.log",
                MEDBOOK_HOLD_EXPIRY_WORKER="true",
            )
            for name in ("a", "b")
        )
    )

    async def one_leads() -> bool:
        return any(LEADER in worker.log for worker in workers)

    await eventually(one_leads)
    await asyncio.sleep(1.5)  # the other has asked for the lock by now, more than once
    [leader] = [worker for worker in workers if LEADER in worker.log]
    [standby] = [worker for worker in workers if worker is not leader]
    assert await session.scalar(LOCK_HOLDERS) == 1
    await session.commit()

    kill(leader)
    killed_at = time.monotonic()
    held = await hold(client, world, world.at(10))
    await age_hold(session, held.id, timedelta(seconds=297))  # runs out in 3 s

    async def taken_over() -> bool:
        return LEADER in standby.log

    await eventually(taken_over, seconds=10)
    takeover = time.monotonic() - killed_at

    async def expired() -> bool:
        return (await row(session, held.id)).status == "expired"

    await eventually(expired, seconds=10)
    announced = await row(session, held.id)
    late = announced.updated_at - announced.hold_expires_at
    print(
        f"\ntaken over {takeover:.1f} s after the leader was killed; expiry {late} after its mark"
    )
    assert takeover < 5
    assert timedelta(0) <= late < timedelta(seconds=1)
    assert await session.scalar(LOCK_HOLDERS) == 1
    await session.commit()


CUT_CONNECTIONS = text(
    """
    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
     WHERE application_name IN ('medbook-worker', 'medbook-hold-expiry')
       AND datname = current_database()
    """
)


async def test_a_worker_whose_database_connections_are_cut_goes_on_working(
    queue: AsyncSession, engine: AsyncEngine, database_url: str, tmp_path: Path, workers: list
) -> None:
    worker = await asyncio.to_thread(
        start_worker,
        database_url,
        tmp_path / "worker.log",
        module="tests.jobs.worker_main",
        MEDBOOK_HOLD_EXPIRY_WORKER="true",
        **FAST_RECOVERY,
    )
    workers.append(worker)
    await asyncio.to_thread(worker.wait_for, LEADER)

    assert await queue.scalar(CUT_CONNECTIONS) >= 3  # the pool's, the LISTEN, the lead's
    await queue.commit()
    async with session_factory(engine)() as request:
        await defer(request, record, key="after the cut")
        await request.commit()

    await eventually(lambda: marks(queue, "after the cut"), seconds=30)

    async def leads_again() -> bool:
        return worker.log.count(LEADER) >= 2 and await queue.scalar(LOCK_HOLDERS) == 1

    await eventually(leads_again, seconds=30)
    await queue.commit()
    assert worker.process.poll() is None
    # Its log tells of the cut (with tracebacks, unlike the other tests' workers): stopped here.
    workers.remove(worker)
    await asyncio.to_thread(stop_worker, worker)
    assert "medbook.hold_expiry: gave up the lead after a failure" in worker.log
