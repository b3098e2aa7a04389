"""What `medbook jobs` reads and does, in SQL over procrastinate's tables.

Never a job's arguments: they stay in the table, and an operator's screen shows ids, task
names, statuses, attempts and times only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class TaskCounts:
    task: str
    queued: int  # waiting for its first run
    retrying: int  # failed, waiting for its next attempt (backoff)
    running: int
    dead: int  # running on a worker that stopped answering; recovered by jobs.recover_stalled
    failed: int  # out of retries: `medbook jobs retry ID` queues it again
    succeeded: int
    cancelled: int


@dataclass(frozen=True, slots=True)
class FailedJob:
    id: int
    task: str
    attempts: int
    failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Workers:
    alive: int
    silent: int
    last_heartbeat: datetime | None


class RetryRefusedError(Exception):
    pass


_COUNTS = text(
    """
    SELECT j.task_name AS task,
           count(*) FILTER (WHERE j.status = 'todo' AND j.attempts = 0) AS queued,
           count(*) FILTER (WHERE j.status = 'todo' AND j.attempts > 0) AS retrying,
           count(*) FILTER (WHERE j.status = 'doing' AND NOT dead.yes) AS running,
           count(*) FILTER (WHERE j.status = 'doing' AND dead.yes) AS dead,
           count(*) FILTER (WHERE j.status = 'failed') AS failed,
           count(*) FILTER (WHERE j.status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE j.status IN ('cancelled', 'aborted')) AS cancelled
      FROM procrastinate_jobs j
      LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
     CROSS JOIN LATERAL (
           SELECT j.worker_id IS NULL
               OR w.id IS NULL
               OR w.last_heartbeat < now() - make_interval(secs => :silent_seconds) AS yes
     ) dead
     GROUP BY j.task_name
     ORDER BY j.task_name
    """
)
_FAILED = text(
    """
    SELECT j.id, j.task_name AS task, j.attempts,
           (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS failed_at
      FROM procrastinate_jobs j
     WHERE j.status = 'failed'
     ORDER BY failed_at DESC NULLS LAST, j.id DESC
     LIMIT :limit
    """
)
_WORKERS = text(
    """
    SELECT count(*) FILTER (WHERE last_heartbeat >= now() - make_interval(secs => :silent_seconds))
               AS alive,
           count(*) FILTER (WHERE last_heartbeat < now() - make_interval(secs => :silent_seconds))
               AS silent,
           max(last_heartbeat) AS last_heartbeat
      FROM procrastinate_workers
    """
)
_STATUS = text("SELECT status::text FROM procrastinate_jobs WHERE id = :id FOR UPDATE")
_RETRY = text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)")


async def counts(session: AsyncSession, silent_seconds: float) -> list[TaskCounts]:
    rows = await session.execute(_COUNTS, {"silent_seconds": silent_seconds})
    return [TaskCounts(**row._mapping) for row in rows]


async def recent_failures(session: AsyncSession, limit: int) -> list[FailedJob]:
    rows = await session.execute(_FAILED, {"limit": limit})
    return [FailedJob(**row._mapping) for row in rows]


async def workers(session: AsyncSession, silent_seconds: float) -> Workers:
    row = (await session.execute(_WORKERS, {"silent_seconds": silent_seconds})).one()
    return Workers(**row._mapping)


async def retry_failed(session: AsyncSession, job_id: int) -> None:
    """Queue a failed job again, to run at once (one more attempt)."""
    status = await session.scalar(_STATUS, {"id": job_id})
    if status is None:
        raise RetryRefusedError(f"there is no job {job_id}")
    if status != "failed":
        raise RetryRefusedError(f"job {job_id} is {status}: only a failed job is retried")
    await session.execute(_RETRY, {"id": job_id})
