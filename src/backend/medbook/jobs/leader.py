"""One process of the deployment at a time: a session-level advisory lock on a connection of its
own. The lock lives as long as that connection's session, so a process that dies (even by
SIGKILL) or loses its connection gives it up at once, and a waiting process takes it within
`poll_seconds`. The work runs on the same connection: it cannot go on without the lead."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

TAKE_LEAD = text("SELECT pg_try_advisory_lock(hashtext(:name))")
LONGEST_BACKOFF = 10.0

Work = Callable[[AsyncConnection], Awaitable[None]]


async def lead(engine: AsyncEngine, name: str, work: Work, *, poll_seconds: float = 1.0) -> None:
    """Run `work` whenever this process holds the lock `name`; wait for it otherwise. Until
    cancelled. `work` is expected to run until it fails; then the lead is given up and taken
    again (by this process or another)."""
    failures = 0
    while True:
        try:
            await _lead_once(engine, name, work, poll_seconds)
            failures = 0
        except Exception:
            failures += 1
            log.warning("%s: gave up the lead after a failure; trying again", name, exc_info=True)
            await asyncio.sleep(min(0.5 * 2**failures, LONGEST_BACKOFF))


async def _lead_once(engine: AsyncEngine, name: str, work: Work, poll_seconds: float) -> None:
    connection = await engine.connect()
    try:
        while not await _take(connection, name):  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(poll_seconds)
        log.info("%s: this process took the lead", name)
        await work(connection)
    finally:
        # Closed, never handed back to the pool: the lock must go with this session. A connection
        # already lost may complain while closing; what went wrong before is what matters.
        with contextlib.suppress(Exception):
            await connection.invalidate()
        with contextlib.suppress(Exception):
            await connection.close()


async def _take(connection: AsyncConnection, name: str) -> bool:
    taken = bool(await connection.scalar(TAKE_LEAD, {"name": name}))
    # Never left idle in a transaction: the change feed reads behind the oldest one open.
    await connection.commit()
    return taken
