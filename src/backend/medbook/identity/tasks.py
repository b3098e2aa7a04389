"""Keep the sign-in throttles from growing for ever: an attacker spraying made-up emails leaves
a row for each, and a quiet row has nothing left to say once its count would start again."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from medbook.db import transaction
from medbook.identity import throttle_repository

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0
# One process prunes at a time; the others find the lock taken and skip that round.
_PRUNE_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext('medbook.sign_in_throttles.prune'))")


async def prune_once(session: AsyncSession, forget_after_hours: int) -> int:
    if not await session.scalar(_PRUNE_LOCK):
        return 0
    return await throttle_repository.prune(session, forget_hours=forget_after_hours)


async def prune_sign_in_throttles(
    sessions: async_sessionmaker[AsyncSession], forget_after_hours: int
) -> None:
    while True:
        try:
            async with transaction(sessions) as session:
                pruned = await prune_once(session, forget_after_hours)
            if pruned:
                log.info("pruned %d quiet sign-in throttles", pruned)
        except Exception:
            log.warning("sign-in throttle pruning failed; will try again", exc_info=True)
        await asyncio.sleep(PRUNE_EVERY_SECONDS)
