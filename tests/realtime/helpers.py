"""A WebSocket client for the change feed that never hangs: every wait has a deadline.

`Feed` reads in the background from the moment it connects, stamping each message with the
time it arrived, so a test can measure latency from any instant it chooses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from medbook.realtime.cursor import Cursor
from tests.auth import SignedIn
from tests.factories import World
from tests.live import LiveServer

WS_PATH = "/api/v1/ws"
# The tuned server's settings (conftest.py), which the tests count on.
HOLD_TTL_SECONDS = 3
PUBLIC_BASE_URL = "https://book.medbook.example"
QUEUE_CAPACITY = 8
# Long enough that a reader held up by a stuck client (the old design) would be told apart from
# one slowed by a busy machine.
SEND_TIMEOUT_SECONDS = 3.0
MAX_CONNECTIONS_PER_SESSION = 2
CURSOR_PATTERN = r"^\d+-\d+$"
SLOT_KEYS = {"cursor", "type", "at", "clinic_id", "practitioner_id", "room_id", "from", "until"}


def ws_url(server: LiveServer) -> str:
    return server.url.replace("http://", "ws://", 1) + WS_PATH


def subscription(
    world: World,
    channel: str,
    *,
    days: tuple[date, date] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A subscribe message for the world's clinic, tomorrow unless told."""
    first, last = days or (world.tomorrow, world.tomorrow)
    message: dict[str, Any] = {"type": "subscribe", "channel": channel}
    if channel != "mine":
        message |= {
            "clinic_ids": [str(world.clinic.id)],
            "from": first.isoformat(),
            "to": last.isoformat(),
        }
    return message | extra


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() when it arrived
    wall: float  # time.time() when it arrived, to compare with database timestamps
    text: str
    message: dict[str, Any]

    @property
    def type(self) -> str:
        kind: str = self.message["type"]
        return kind

    @property
    def change(self) -> dict[str, Any]:
        assert self.type == "change", self.message
        change: dict[str, Any] = self.message["change"]
        return change


class FeedClosed(AssertionError):
    pass


class NoMessage(AssertionError):
    pass


class Feed:
    """One client socket, read in the background into an inbox."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.log: list[Received] = []  # everything received, heartbeats included
        self._inbox: asyncio.Queue[Received | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for text in self.connection:
                assert isinstance(text, str)
                received = Received(time.monotonic(), time.time(), text, json.loads(text))
                self.log.append(received)
                self._inbox.put_nowait(received)
        except ConnectionClosed:
            pass
        finally:
            self._inbox.put_nowait(None)

    @property
    def close_code(self) -> int | None:
        return self.connection.close_code

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.connection.send(message if isinstance(message, str) else json.dumps(message))

    async def next(self, timeout: float = 2.0, *, heartbeats: bool = False) -> Received:
        """The next message (heartbeats skipped unless asked for)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = await asyncio.wait_for(self._inbox.get(), max(remaining, 0))
            except TimeoutError:
                raise NoMessage(f"no message within {timeout} s") from None
            if item is None:
                self._inbox.put_nowait(None)
                raise FeedClosed(f"the socket closed ({self.close_code})")
            if heartbeats or item.type != "heartbeat":
                return item

    async def expect(self, kind: str, timeout: float = 2.0) -> dict[str, Any]:
        received = await self.next(timeout)
        assert received.type == kind, received.message
        return received.message

    async def change(self, timeout: float = 2.0) -> Received:
        received = await self.next(timeout)
        assert received.type == "change", received.message
        return received

    async def subscribe(self, message: dict[str, Any], timeout: float = 3.0) -> str:
        """Subscribe and wait for `live`, with nothing replayed; answers the live cursor."""
        await self.send(message)
        subscribed = await self.expect("subscribed", timeout)
        live = await self.expect("live", timeout)
        assert Cursor.parse(live["cursor"]) >= Cursor.parse(subscribed["cursor"])
        cursor: str = live["cursor"]
        return cursor

    async def replay(self, timeout: float = 3.0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """After `subscribed`: the replayed changes, and the `live` message that ends them."""
        changes: list[dict[str, Any]] = []
        while True:
            received = await self.next(timeout)
            if received.type == "live":
                return changes, received.message
            changes.append(received.change)

    async def refused(self, timeout: float = 3.0) -> tuple[dict[str, Any], int | None]:
        """An error message, then the close code."""
        error = await self.expect("error", timeout)
        return error, await self.closed(timeout)

    async def closed(self, timeout: float = 3.0) -> int | None:
        """Wait for the socket to close (nothing but heartbeats before); answers the code."""
        with contextlib.suppress(FeedClosed):
            received = await self.next(timeout)
            raise AssertionError(f"expected the socket to close, got {received.message}")
        return self.close_code

    async def quiet(self, seconds: float) -> None:
        """Nothing but heartbeats arrives for `seconds`, and the socket stays open."""
        try:
            received = await self.next(seconds)
        except NoMessage:
            return
        raise AssertionError(f"expected nothing, got {received.message}")

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.connection.close(), 2)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def connect_to(
    server: LiveServer, who: SignedIn | None = None, **options: Any
) -> ClientConnection:
    headers = dict(options.pop("additional_headers", {}))
    if who is not None:
        headers |= who.cookie_only
    return await connect(
        ws_url(server),
        additional_headers=headers,
        proxy=None,
        open_timeout=5,
        close_timeout=2,
        **options,
    )


@asynccontextmanager
async def open_feed(
    server: LiveServer, who: SignedIn | None = None, **options: Any
) -> AsyncIterator[Feed]:
    feed = Feed(await connect_to(server, who, **options))
    try:
        yield feed
    finally:
        await feed.aclose()


async def insert_blocks(
    session: AsyncSession, world: World, count: int, first: datetime, length: timedelta
) -> list[str]:
    """`count` back-to-back blocks of doctor 0 in one transaction: `count` events at once."""
    ids = await session.scalars(
        text(
            """
            INSERT INTO appointments
                (kind, status, clinic_id, practitioner_id, starts_at, ends_at, blocked, source)
            SELECT 'block', 'blocked', :clinic, :doctor, t, t + CAST(:length AS interval),
                   tstzrange(t, t + CAST(:length AS interval), '[)'), 'staff'
              FROM generate_series(0, CAST(:count AS int) - 1) AS n,
                   LATERAL (SELECT CAST(:first AS timestamptz)
                                   + n * CAST(:length AS interval) AS t) AS s
             ORDER BY n
            RETURNING id
            """
        ),
        {
            "clinic": world.clinic.id,
            "doctor": world.doctors[0].id,
            "first": first,
            "length": length,
            "count": count,
        },
    )
    inserted = [str(i) for i in ids]
    await session.commit()
    return inserted
