"""Keep the sign-in throttles from growing for ever: an attacker spraying made-up emails leaves
a row for each, and a quiet row has nothing left to say once its count would start again.
A periodic job, hourly."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from medbook.db import transaction
from medbook.identity import throttle_repository

log = logging.getLogger(__name__)

# The queue runs one job per period; should two ever overlap, the second skips its round.
_PRUNE_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext('medbook.sign_in_throttles.prune'))")


async def prune_once(session: AsyncSession, forget_after_hours: int) -> int:
    if not await session.scalar(_PRUNE_LOCK):
        return 0
    return await throttle_repository.prune(session, forget_hours=forget_after_hours)


async def prune_sign_in_throttles(
    sessions: async_sessionmaker[AsyncSession], forget_after_hours: int
) -> None:
    async with transaction(sessions) as session:
        pruned = await prune_once(session, forget_after_hours)
    if pruned:
        log.info("pruned %d quiet sign-in throttles", pruned)
