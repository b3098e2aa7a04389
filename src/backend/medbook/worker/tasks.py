"""Every task the worker runs, and when the periodic ones run.

The work itself lives in each domain's tasks.py as a plain function of one round; here it is
registered on the queue, with its retries and locks. Periodic tasks run once per period across
all workers: each worker's deferrer offers the period's job, and procrastinate's
procrastinate_periodic_defers table (unique per task and period start) lets one offer through.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from procrastinate import JobContext, RetryStrategy
from procrastinate.jobs import Status
from procrastinate.periodic import PeriodicRegistry
from procrastinate.tasks import Task
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from medbook.checkout import tasks as checkout_tasks
from medbook.checkout.service import Gateways
from medbook.idempotency import tasks as idempotency_tasks
from medbook.identity import tasks as identity_tasks
from medbook.jobs.app import jobs
from medbook.kernel.time import HOUR, cron_every
from medbook.realtime import tasks as realtime_tasks
from medbook.settings import Settings

log = logging.getLogger(__name__)

# Waits 5 s, 25 s, then 125 s between attempts (procrastinate: exponential_wait ** attempt).
BACKOFF = RetryStrategy(max_attempts=3, exponential_wait=5)
RESOURCES = "medbook"


@dataclass(frozen=True)
class WorkerResources:
    """What tasks use, made once per worker process and handed to them in their context."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    gateways: Gateways


def resources(context: JobContext) -> WorkerResources:
    found = context.additional_context[RESOURCES]
    assert isinstance(found, WorkerResources)
    return found


class WorkerDiedError(RuntimeError):
    """The worker running a job stopped answering (killed, or its machine lost)."""


# Every periodic task takes `timestamp`: the start of its period (epoch seconds), which is
# also what makes its job unique in that period.


@jobs.task(name="payments.reconcile", pass_context=True, retry=BACKOFF, lock="payments.reconcile")
async def reconcile_payments(context: JobContext, timestamp: int) -> None:
    found = resources(context)
    await checkout_tasks.reconcile_payments(found.gateways, found.settings)


@jobs.task(name="realtime.prune_change_feed", pass_context=True, retry=BACKOFF)
async def prune_change_feed(context: JobContext, timestamp: int) -> None:
    found = resources(context)
    await realtime_tasks.prune_change_feed(
        found.sessions, found.settings.change_feed_retention_days
    )


@jobs.task(name="identity.prune_sign_in_throttles", pass_context=True, retry=BACKOFF)
async def prune_sign_in_throttles(context: JobContext, timestamp: int) -> None:
    found = resources(context)
    await identity_tasks.prune_sign_in_throttles(
        found.sessions, found.settings.staff_sign_in_forget_after_hours
    )


@jobs.task(name="idempotency.prune_keys", pass_context=True, retry=BACKOFF)
async def prune_idempotency_keys(context: JobContext, timestamp: int) -> None:
    found = resources(context)
    await idempotency_tasks.prune_idempotency_keys(
        found.sessions, found.settings.idempotency_ttl_hours
    )


@jobs.task(name="jobs.prune_finished", pass_context=True, retry=BACKOFF)
async def prune_finished_jobs(context: JobContext, timestamp: int) -> None:
    """Jobs that succeeded, after job_retention_days; failed ones stay for an operator."""
    days = resources(context).settings.job_retention_days
    await context.app.job_manager.delete_old_jobs(nb_hours=days * 24, include_cancelled=True)


@jobs.task(name="jobs.recover_stalled", pass_context=True, queueing_lock="jobs.recover_stalled")
async def recover_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Jobs left running by a worker that died (SIGKILL, a lost machine): queued again as a
    failed attempt would be, or failed once past their task's retries. procrastinate finds them
    by the dead worker's heartbeat; nothing else would ever pick them up."""
    manager = context.app.job_manager
    silent = resources(context).settings.job_stalled_after_seconds
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=silent):
        task = context.app.tasks.get(job.task_name)
        strategy = task.retry_strategy if task is not None else None
        decision = (
            strategy.get_retry_decision(exception=WorkerDiedError(), job=job)
            if strategy is not None
            else None
        )
        if decision is None:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            log.warning("job %s (%s) died with its worker: failed", job.id, job.task_name)
        else:
            await manager.retry_job(job, retry_at=decision.retry_at)
            log.warning("job %s (%s) died with its worker: queued again", job.id, job.task_name)


def periodic_tasks(settings: Settings) -> Sequence[tuple[Task[Any, Any, Any], str]]:
    """Each periodic task with its cron line."""
    hourly = cron_every(HOUR)
    return (
        (reconcile_payments, cron_every(settings.payment_reconcile_seconds)),
        (recover_stalled_jobs, cron_every(settings.job_stalled_check_seconds)),
        (prune_change_feed, hourly),
        (prune_sign_in_throttles, hourly),
        (prune_idempotency_keys, hourly),
        (prune_finished_jobs, hourly),
    )


def schedule(settings: Settings) -> None:
    """Register the periodic tasks with their periods from `settings` (afresh each time)."""
    registry = PeriodicRegistry()  # type: ignore[no-untyped-call]
    for task, cron in periodic_tasks(settings):
        registry.register_task(task=task, cron=cron, periodic_id="", configure_kwargs={})
    jobs.periodic_registry = registry
