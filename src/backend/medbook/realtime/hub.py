"""One LISTEN connection per API process, fanning the change feed out to its subscribers.

NOTIFY only says "something committed": the hub then reads the feed from its position, so a
lost or folded notification costs latency, never an event. Every subscriber has a bounded
queue, and the hub never waits for one: a subscriber whose queue is full is detached with the
cursor it had reached, and its socket catches up from the feed itself (see socket.py) before it
attaches again. A burst bigger than a queue costs that socket some reads; a client that stops
reading stalls only its own socket, which closes when a send takes too long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import asyncpg

from medbook.db import connect
from medbook.realtime import feed
from medbook.realtime.changes import Change, Filter
from medbook.realtime.cursor import Cursor

log = logging.getLogger(__name__)

PAGE = 500
# How soon to look again while committed events wait behind an older open transaction.
HELD_BACK_FIRST_RETRY = 0.005
HELD_BACK_LONGEST_RETRY = 0.25


class Subscriber:
    """One socket's live subscription: a bounded queue the hub fills and the socket drains."""

    def __init__(self, filter_: Filter, capacity: int) -> None:
        self.filter = filter_
        self.queue: asyncio.Queue[str] = asyncio.Queue(capacity)
        self.through = Cursor.ORIGIN  # it already has everything up to here
        # Set when its queue overflowed: it has every change up to here in its queue, and
        # must read the rest from the feed.
        self.behind: Cursor | None = None

    def offer(self, message: str) -> bool:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            return False
        return True


def message(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields}, separators=(",", ":"))


class Hub:
    def __init__(
        self,
        database_url: str,
        *,
        queue_capacity: int,
        heartbeat_seconds: float,
        poll_seconds: float = 1.0,
    ) -> None:
        self._url = database_url
        self.queue_capacity = queue_capacity
        self._heartbeat_seconds = heartbeat_seconds
        self._poll_seconds = poll_seconds  # reads even without a notification: a safety net
        self.position = Cursor.ORIGIN
        self._subscribers: set[Subscriber] = set()
        self._connections: Counter[str] = Counter()
        self._wake = asyncio.Event()
        self._retry = HELD_BACK_FIRST_RETRY
        self._retry_pending = False
        self._ready = asyncio.Event()
        self._link_changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="realtime-hub"),
            asyncio.create_task(self._beat(), name="realtime-heartbeat"),
        ]
        # Serve only once the position is known; a database that is down is retried meanwhile.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._ready.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # gather, unlike a suppressed await, lets a cancellation of stop() itself through.
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # Subscribers

    def attach(self, subscriber: Subscriber, through: Cursor) -> None:
        """Start live delivery after `through`; call only once the replay has reached
        self.position, with no await in between, so nothing falls in the gap."""
        assert through >= self.position
        subscriber.through = through
        self._subscribers.add(subscriber)

    def detach(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @contextlib.contextmanager
    def connection_slot(self, key: str, limit: int) -> Iterator[bool]:
        """Count one open socket against `key` (a session, or an address); False when full."""
        if self._connections[key] >= limit:
            yield False
            return
        self._connections[key] += 1
        try:
            yield True
        finally:
            self._connections[key] -= 1
            if self._connections[key] <= 0:
                del self._connections[key]

    @property
    def link_changed(self) -> asyncio.Event:
        """Set the next time the feed's database connection is lost or regained: every open
        socket checks its session again then, rather than at its next regular check."""
        return self._link_changed

    def _announce_link_change(self) -> None:
        changed, self._link_changed = self._link_changed, asyncio.Event()
        changed.set()

    @property
    def ready(self) -> bool:
        """The feed's position is known: until then nobody can be told where they stand."""
        return self._ready.is_set()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    # Reading the feed

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await connect(self._url)
                await connection.add_listener(feed.NOTIFY_CHANNEL, self._notified)
                if not self._ready.is_set():
                    self.position = (await feed.read(connection, Cursor.ORIGIN, limit=0)).head
                    self._ready.set()
                else:
                    self._announce_link_change()
                backoff = 0.1
                self._wake.set()  # catch up on whatever committed while we were away
                while True:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._poll_seconds):
                            await self._wake.wait()
                    self._wake.clear()
                    await self._drain(connection)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: reconnect, then catch up
                log.warning("change feed listener lost its connection; reconnecting", exc_info=True)
                if connection is not None:
                    self._announce_link_change()
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _drain(self, connection: asyncpg.Connection) -> None:
        while True:
            page = await feed.read(connection, self.position, limit=PAGE)
            if page.changes:
                self._dispatch(page.changes)
            if len(page.changes) < PAGE:
                break
        if page.held_back:
            self._retry_soon()
        else:
            self._retry = HELD_BACK_FIRST_RETRY

    def _retry_soon(self) -> None:
        if self._retry_pending:
            return
        self._retry_pending = True

        def wake() -> None:
            self._retry_pending = False
            self._wake.set()

        asyncio.get_running_loop().call_later(self._retry, wake)
        self._retry = min(self._retry * 2, HELD_BACK_LONGEST_RETRY)

    def _dispatch(self, changes: list[Change]) -> None:
        subscribers = list(self._subscribers)
        for change in changes:
            views: dict[str, str | None] = {}
            behind: list[Subscriber] = []
            for subscriber in subscribers:
                if change.cursor <= subscriber.through or not subscriber.filter.matches(change):
                    continue
                channel = subscriber.filter.channel
                if channel not in views:
                    view = subscriber.filter.view(change)
                    views[channel] = None if view is None else message("change", change=view)
                text = views[channel]
                if text is not None and not subscriber.offer(text):
                    behind.append(subscriber)
            if behind:
                # Everything before this change is in their queues (or was not theirs).
                self._fall_behind(behind, self.position)
                subscribers = list(self._subscribers)
            self.position = change.cursor

    def _fall_behind(self, subscribers: list[Subscriber], reached: Cursor) -> None:
        for subscriber in subscribers:
            self._subscribers.discard(subscriber)
            subscriber.behind = max(reached, subscriber.through)

    async def _beat(self) -> None:
        """Tell every subscriber, in order with its events, how far the feed has been read:
        a quiet subscription keeps a fresh cursor, and the browser sees the link is alive."""
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            text = message("heartbeat", cursor=str(self.position))
            for subscriber in list(self._subscribers):
                subscriber.offer(text)  # a full queue skips a beat: its changes say as much
