"""Announce each hold's expiry the moment it falls due.

Correctness never depends on this: a hold past its expiry already counts as free to every search
and to every new hold. The announcer only marks it expired, so the change feed tells every open
page within a second of the 300 s mark. It sleeps until the next expiry is due, and the change
feed's NOTIFY wakes it early when an appointment changes. One `medbook worker` in the deployment
runs it, chosen by an advisory lock (medbook.jobs.leader); should two ever overlap, they take
due holds with SKIP LOCKED, so each is expired once.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from medbook.db import transaction
from medbook.kernel.statuses import Status

BATCH = 500
LONGEST_SLEEP = 60.0  # wakes at least this often even with no hold in sight: a safety net
LOCKED_ELSEWHERE_PAUSE = 0.05  # due holds another process is expiring right now
WAKE_COALESCE = 0.05

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


class HoldExpiry:
    """Expires due holds, then sleeps until the next is due or until `wake` is called."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._wake = asyncio.Event()

    def wake(self, *_: object) -> None:
        """Look again now (a hold may have appeared that runs out sooner); an asyncpg listener."""
        self._wake.set()

    async def cycle(self) -> float:
        """Expire what is due; answers how long to sleep before the next look."""
        async with transaction(self._sessions) as session:
            expired, _, seconds = await expire_due_holds(session)
        if expired == BATCH:
            return 0.0  # more are due right now
        if seconds is None:
            return LONGEST_SLEEP
        if seconds <= 0:
            return LOCKED_ELSEWHERE_PAUSE
        return min(seconds, LONGEST_SLEEP)

    async def run(self) -> None:
        """Until cancelled, or until a failure, which it raises: its caller decides (see
        announce_hold_expiries: the connection, and with it the lead, is given up)."""
        while True:
            self._wake.clear()
            delay = await self.cycle()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
                # Woken: every commit that touches an appointment notifies, so let a burst of
                # them fold into one look.
                await asyncio.sleep(WAKE_COALESCE)


async def announce_hold_expiries(connection: AsyncConnection, channel: str) -> None:
    """The work of the one process that holds the lead (medbook.jobs.leader): expire due holds
    on the lead's own connection (its loss ends the work and the lead together), woken by the
    change feed's NOTIFY on `channel` when an appointment changes."""
    expiry = HoldExpiry(async_sessionmaker(bind=connection, expire_on_commit=False))
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.add_listener(channel, expiry.wake)
    # A lost connection has lost the lead too: look now (and fail), rather than at the next due
    # hold, so this process is back in the running at once.
    driver.add_termination_listener(expiry.wake)
    await expiry.run()
