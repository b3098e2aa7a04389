"""Work an API process does beside answering requests, started and stopped with it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from medbook.booking.tasks import HoldExpiry
from medbook.checkout.service import Gateways
from medbook.checkout.tasks import reconcile_payments
from medbook.identity.tasks import prune_sign_in_throttles
from medbook.realtime.hub import Hub
from medbook.realtime.tasks import prune_change_feed
from medbook.settings import Settings


class BackgroundJobs:
    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(job, name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # gather, unlike a suppressed await, lets a cancellation of stop() itself through.
        await asyncio.gather(*self._tasks, return_exceptions=True)


def start_background_jobs(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], hub: Hub, peers: Gateways
) -> BackgroundJobs:
    jobs = BackgroundJobs()
    if settings.hold_expiry_worker:
        expiry = HoldExpiry(sessions)
        hub.watch(expiry.notice)
        jobs.spawn(expiry.run(), "hold-expiry")
    jobs.spawn(prune_change_feed(sessions, settings.change_feed_retention_days), "feed-pruning")
    jobs.spawn(reconcile_payments(peers, settings), "payment-reconciliation")
    jobs.spawn(
        prune_sign_in_throttles(sessions, settings.staff_sign_in_forget_after_hours),
        "sign-in-throttle-pruning",
    )
    return jobs
