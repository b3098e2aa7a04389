"""Forget replayable answers past their time (a periodic job, hourly).

A request with an old key already ignores (and replaces) a stale answer for that key; this job
deletes the stale answers nobody asks for again, which would otherwise be kept for ever: each
holds a response body, which may name a patient.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from medbook.db import transaction
from medbook.idempotency import repository

log = logging.getLogger(__name__)


async def prune_idempotency_keys(
    sessions: async_sessionmaker[AsyncSession], ttl_hours: int
) -> None:
    async with transaction(sessions) as session:
        pruned = await repository.forget_all_expired(session, ttl_hours)
    if pruned:
        log.info("forgot %d idempotency keys older than %d hours", pruned, ttl_hours)
