"""Announce each hold's expiry the moment it falls due.

Correctness never depends on this: a hold past its expiry already counts as free to every search
and to every new hold. The worker only marks it expired, so the change feed tells every open page
within a second of the 300 s mark. It sleeps until the next expiry is due, and the feed wakes it
early when a hold appears that runs out sooner. Every API process may run one: they take due
holds with SKIP LOCKED, so each is expired once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from medbook.db import transaction
from medbook.kernel.statuses import Status

log = logging.getLogger(__name__)

BATCH = 500
LONGEST_SLEEP = 60.0  # wakes at least this often even with no hold in sight: a safety net
LOCKED_ELSEWHERE_PAUSE = 0.05  # due holds another worker is expiring right now

_EXPIRE_DUE = text(
    """
    WITH due AS (
        SELECT id FROM appointments
         WHERE status = :held AND hold_expires_at <= now()
         ORDER BY hold_expires_at
         LIMIT :batch
           FOR UPDATE SKIP LOCKED
    )
    UPDATE appointments a SET status = :expired, updated_at = now()
      FROM due WHERE a.id = due.id
    """
)
_NEXT_DUE = text(
    """
    SELECT min(hold_expires_at) AS due,
           EXTRACT(EPOCH FROM min(hold_expires_at) - clock_timestamp())::float AS seconds
      FROM appointments WHERE status = :held
    """
)


async def expire_due_holds(session: AsyncSession) -> tuple[int, datetime | None, float | None]:
    """Mark expired the holds whose time is up; answers how many, and when the next is due
    (and in how many seconds, on the database clock)."""
    result = await session.execute(
        _EXPIRE_DUE, {"held": Status.HELD, "expired": Status.EXPIRED, "batch": BATCH}
    )
    expired = int(result.rowcount)  # type: ignore[attr-defined]
    due = (await session.execute(_NEXT_DUE, {"held": Status.HELD})).one()
    return expired, due.due, due.seconds


class HoldChange(Protocol):
    """What the worker reads of a change on the feed. The feed (realtime, which sits above
    booking) hands its own Change rows, which have these and more."""

    @property
    def status(self) -> str: ...

    @property
    def hold_expires_at(self) -> datetime | None: ...


class HoldExpiry:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._wake = asyncio.Event()
        self._next_due: datetime | None = None

    def notice(self, changes: Sequence[HoldChange]) -> None:
        """A hub watcher: wake early for a new hold that runs out before the one awaited."""
        for change in changes:
            expires = change.hold_expires_at
            if (
                change.status == Status.HELD
                and expires is not None
                and (self._next_due is None or expires < self._next_due)
            ):
                self._next_due = expires
                self._wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                async with transaction(self._sessions) as session:
                    expired, self._next_due, seconds = await expire_due_holds(session)
                failures = 0
            except Exception:
                failures += 1
                log.warning("hold expiry failed; retrying", exc_info=True)
                await asyncio.sleep(min(0.5 * 2**failures, 30.0))
                continue
            if expired == BATCH:
                continue  # more are due right now
            if seconds is None:
                delay = LONGEST_SLEEP
            elif seconds <= 0:
                delay = LOCKED_ELSEWHERE_PAUSE
            else:
                delay = min(seconds, LONGEST_SLEEP)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
