"""Tasks only the tests register on the queue. Each writes marks (key, what) the tests read:
`python -m tests.jobs.worker_main worker` is `medbook worker` with these tasks known too."""

from __future__ import annotations

import asyncio

from procrastinate import JobContext, RetryStrategy
from sqlalchemy import text

from medbook.db import transaction
from medbook.jobs.app import jobs
from medbook.worker.tasks import resources

MARKS = "job_test_marks"
CREATE_MARKS = f"""
CREATE TABLE IF NOT EXISTS {MARKS} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text NOT NULL,
    what text NOT NULL,
    attempt integer NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""
_MARK = text(f"INSERT INTO {MARKS} (key, what, attempt) VALUES (:key, :what, :attempt)")
# Backoff kept tiny for the tests: 1.2 s, then 1.44 s (procrastinate: exponential_wait ** n).
TINY_BACKOFF = RetryStrategy(max_attempts=3, exponential_wait=1.2)  # type: ignore[arg-type]


async def mark(context: JobContext, key: str, what: str) -> None:
    async with transaction(resources(context).sessions) as session:
        await session.execute(_MARK, {"key": key, "what": what, "attempt": context.job.attempts})


@jobs.task(name="tests.record", pass_context=True)
async def record(context: JobContext, key: str) -> None:
    await mark(context, key, "done")


@jobs.task(name="tests.flaky", pass_context=True, retry=TINY_BACKOFF)
async def flaky(context: JobContext, key: str, failures: int) -> None:
    """Fails its first `failures` attempts, after writing its effect in the same transaction
    (which the failure rolls back): a retried job's effect happens once."""
    await mark(context, key, "attempt")
    async with transaction(resources(context).sessions) as session:
        await session.execute(
            _MARK, {"key": key, "what": "effect", "attempt": context.job.attempts}
        )
        if context.job.attempts < failures:
            raise RuntimeError("failing on purpose")


@jobs.task(name="tests.doomed", pass_context=True)
async def doomed(context: JobContext, key: str) -> None:
    raise RuntimeError("always fails")


@jobs.task(name="tests.slow", pass_context=True, retry=RetryStrategy(max_attempts=2))
async def slow(context: JobContext, key: str) -> None:
    """Its first attempt hangs (until its worker is killed); the next one finishes."""
    if context.job.attempts == 0:
        await mark(context, key, "started")
        await asyncio.sleep(600)
    await mark(context, key, "finished")
