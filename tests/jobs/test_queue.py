"""Jobs deferred in a transaction live and die with it, failed attempts are retried with
backoff and leave no effect behind, and `medbook jobs` shows the queue without arguments."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook.db import session_factory
from medbook.jobs.defer import defer
from tests.jobs.conftest import eventually, marks
from tests.jobs.tasks import doomed, flaky, record


async def job_row(session: AsyncSession, job_id: int) -> Any:
    found = (
        await session.execute(
            text("SELECT status::text AS status, attempts FROM procrastinate_jobs WHERE id = :id"),
            {"id": job_id},
        )
    ).one_or_none()
    await session.commit()
    return found


async def test_a_job_deferred_in_a_rolled_back_transaction_never_runs(
    queue: AsyncSession, engine: AsyncEngine, worker_in_process: Callable[..., Any]
) -> None:
    async with session_factory(engine)() as request:
        discarded = await defer(request, record, key="rolled-back")
        await request.rollback()
    async with session_factory(engine)() as request:
        kept = await defer(request, record, key="committed")
        await request.commit()

    async with worker_in_process():
        await eventually(lambda: marks(queue, "committed"))
        await asyncio.sleep(0.5)  # time enough for the other, had it existed

    assert await marks(queue, "committed") == [("done", 0)]
    assert await marks(queue, "rolled-back") == []
    assert await job_row(queue, discarded) is None
    assert (await job_row(queue, kept)).status == "succeeded"


async def test_a_job_is_invisible_to_workers_until_its_transaction_commits(
    queue: AsyncSession, engine: AsyncEngine, worker_in_process: Callable[..., Any]
) -> None:
    async with worker_in_process(), session_factory(engine)() as request:
        job_id = await defer(request, record, key="later")
        await asyncio.sleep(0.5)  # the worker polls every 0.1 s meanwhile
        assert await marks(queue, "later") == []
        await request.commit()
        await eventually(lambda: marks(queue, "later"))
    assert (await job_row(queue, job_id)).status == "succeeded"


async def test_a_job_failing_twice_runs_three_times_with_growing_waits_and_its_effect_happens_once(
    queue: AsyncSession, engine: AsyncEngine, worker_in_process: Callable[..., Any]
) -> None:
    async with session_factory(engine)() as request:
        job_id = await defer(request, flaky, key="flaky", failures=2)
        await request.commit()

    async with worker_in_process():

        async def finished() -> bool:
            return (await job_row(queue, job_id)).status == "succeeded"

        await eventually(finished, seconds=30)

    found = await marks(queue, "flaky")
    assert [what for what, _ in found].count("attempt") == 3
    assert [m for m in found if m[0] == "effect"] == [("effect", 2)]  # the third attempt's only
    assert (await job_row(queue, job_id)).attempts == 3  # procrastinate counts every run
    # Each retry waited its backoff, the second longer than the first (1.2 s, then 1.44 s).
    starts = (
        await queue.execute(
            text(
                "SELECT at FROM job_test_marks WHERE key = 'flaky' AND what = 'attempt' ORDER BY id"
            )
        )
    ).scalars()
    first, second, third = list(starts)
    assert (second - first).total_seconds() >= 1.2
    assert (third - second).total_seconds() >= 1.44


def medbook(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medbook", *arguments],
        env={**os.environ, "DATABASE_URL": database_url, "MEDBOOK_LOG_LEVEL": "warning"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_medbook_jobs_lists_counts_and_failures_without_arguments_and_retries_one(
    queue: AsyncSession,
    engine: AsyncEngine,
    database_url: str,
    worker_in_process: Callable[..., Any],
) -> None:
    secret = "S1234567D Tan Mei Ling"  # what a careless job argument could carry
    async with session_factory(engine)() as request:
        failing = await defer(request, doomed, key=secret)
        await request.commit()
    async with worker_in_process():

        async def failed() -> bool:
            return (await job_row(queue, failing)).status == "failed"

        await eventually(failed)
    async with session_factory(engine)() as request:
        await defer(request, record, key="not run yet")  # no worker runs now
        await request.commit()

    shown = await asyncio.to_thread(medbook, database_url, "jobs")

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    [doomed_line] = [line for line in lines if line.startswith("tests.doomed ")]
    assert doomed_line.split()[1:] == ["0", "0", "0", "0", "1", "0", "0"]
    [record_line] = [line for line in lines if line.startswith("tests.record ")]
    assert record_line.split()[1:] == ["1", "0", "0", "0", "0", "0", "0"]
    [failure] = [line for line in lines if line.strip().startswith(str(failing))]
    assert failure.split()[1] == "1"
    assert failure.split()[-1] == "tests.doomed"
    assert "Tan Mei Ling" not in shown.stdout
    assert "S1234567D" not in shown.stdout

    retried = await asyncio.to_thread(medbook, database_url, "jobs", "retry", str(failing))
    assert retried.returncode == 0, retried.stderr
    assert (await job_row(queue, failing)).status == "todo"
    again = await asyncio.to_thread(medbook, database_url, "jobs", "retry", str(failing))
    assert again.returncode == 1
    assert "only a failed job is retried" in again.stderr
    missing = await asyncio.to_thread(medbook, database_url, "jobs", "retry", "999999")
    assert missing.returncode == 1
    assert "no job 999999" in missing.stderr
