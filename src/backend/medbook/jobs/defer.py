"""Defer a job inside the caller's transaction: it exists if and only if that transaction
commits, and workers hear of it (NOTIFY) only then.

procrastinate defers on connections of its own connectors (psycopg); our requests run on
SQLAlchemy over asyncpg. So the job row is written by procrastinate's own SQL function,
procrastinate_defer_jobs_v1 (what its connectors call), through the request's session. The
function's name carries its version; a procrastinate upgrade that changes it comes with a
migration (ADR 0013), and tests/jobs/test_queue.py runs what this writes through a real worker.
"""

from __future__ import annotations

import json
from typing import Any

from procrastinate.tasks import Task
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_DEFER = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
        CAST(:queue AS varchar), CAST(:task_name AS varchar), CAST(:priority AS integer),
        CAST(:lock AS text), CAST(:queueing_lock AS text), CAST(:args AS jsonb),
        CAST(:scheduled_at AS timestamptz)
    )]::procrastinate_job_to_defer_v1[]))
    """
)


async def defer(session: AsyncSession, task: Task[Any, Any, Any], **arguments: Any) -> int:
    """Queue `task` with `arguments` in the session's transaction; answers the job's id.

    Arguments are JSON and, by our rule, ids and plain values only, never personal data: they
    are stored in the job table. The task's own queue, priority and locks apply. A task with a
    queueing lock whose job is already queued raises, and that aborts the transaction: defer
    such tasks from a savepoint (`session.begin_nested()`).
    """
    job = task.configure().job
    return int(
        (
            await session.execute(
                _DEFER,
                {
                    "queue": job.queue,
                    "task_name": job.task_name,
                    "priority": job.priority,
                    "lock": job.lock,
                    "queueing_lock": job.queueing_lock,
                    "args": json.dumps(arguments),
                    "scheduled_at": job.scheduled_at,
                },
            )
        ).scalar_one()
    )
