"""Keep the change feed from growing for ever (a periodic job, hourly)."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from medbook.db import transaction
from medbook.realtime import feed

log = logging.getLogger(__name__)

# The queue runs one job per period; should two ever overlap, the second skips its round.
_PRUNE_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext('medbook.change_feed.prune'))")


async def prune_once(session: AsyncSession, retention_days: int) -> int:
    if not await session.scalar(_PRUNE_LOCK):
        return 0
    return await feed.prune(await feed.driver_connection(session), retention_days)


async def prune_change_feed(
    sessions: async_sessionmaker[AsyncSession], retention_days: int
) -> None:
    async with transaction(sessions) as session:
        pruned = await prune_once(session, retention_days)
    if pruned:
        log.info("pruned %d change events older than %d days", pruned, retention_days)
