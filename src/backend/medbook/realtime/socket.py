"""One WebSocket: its subscription, replay then live delivery, and why it closes.

Messages are JSON. The client sends {"type": "subscribe", ...} (see SubscribeIn), again to
change what it follows. The server sends "subscribed" (the cursor replay starts after),
"change" (one event, with its cursor), "live" (replay done), "heartbeat" (the feed's position),
and "error" (a code and what to do). Close codes: 4401 sign-in needed or session ended, 4403
not permitted, 4404 no such clinic, 4408 too slow (reconnect with your cursor), 4429 too many
sockets, 1013 the feed is not ready yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from uvicorn.protocols.utils import ClientDisconnected

from medbook.db import transaction
from medbook.identity.sessions import SessionView, resolve_session
from medbook.kernel.errors import DomainError, UnauthorizedError
from medbook.realtime import feed, service
from medbook.realtime.changes import Channel, Filter, Subscription
from medbook.realtime.cursor import Cursor
from medbook.realtime.hub import PAGE, Hub, Subscriber, message
from medbook.realtime.schemas import SubscribeIn
from medbook.settings import Settings

log = logging.getLogger(__name__)


class SessionEndedError(UnauthorizedError):
    code = "session_ended"


class SocketGoneError(Exception):
    """The client is gone (closed the page, lost the network) while we were sending."""


CLOSE_TOO_SLOW = 4408
CLOSE_TOO_MANY = 4429
CLOSE_SESSION_ENDED = 4401
CLOSE_TRY_LATER = 1013
CLOSE_INTERNAL = 1011
UNVERIFIED_RETRY_SECONDS = 1.0
# A refusal that no retry on this socket can mend closes it; others leave it open.
_CLOSING_STATUSES = {401: 4401, 403: 4403, 404: 4404}


class SocketSession:
    def __init__(
        self,
        websocket: WebSocket,
        hub: Hub,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        token: str | None,
    ) -> None:
        self._websocket = websocket
        self._hub = hub
        self._sessions = sessions
        self._settings = settings
        self._token = token
        self._send_lock = asyncio.Lock()
        self._closing: asyncio.Future[tuple[int, str] | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._subscription: Subscription | None = None
        self._pump: asyncio.Task[None] | None = None
        self._subscriber: Subscriber | None = None

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._receive())]
        if self._token is not None:
            tasks.append(asyncio.create_task(self._check_session()))
        try:
            outcome = await self._closing
        finally:
            await self._stop_pump()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if outcome is not None:
            code, reason = outcome
            # A client too slow to read may never take the close frame either.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._websocket.close(code, reason)

    def close(self, code: int, reason: str) -> None:
        if not self._closing.done():
            self._closing.set_result((code, reason))

    def _gone(self) -> None:
        if not self._closing.done():
            self._closing.set_result(None)

    async def _send(self, text: str) -> None:
        """Send one message; TimeoutError when the client has not taken it in time (it has
        stopped reading, and holds nobody else up meanwhile), SocketGoneError when it left."""
        async with self._send_lock:
            async with asyncio.timeout(self._settings.ws_send_timeout_seconds):
                try:
                    await self._websocket.send_text(text)
                except (WebSocketDisconnect, ClientDisconnected, RuntimeError) as error:
                    # RuntimeError: Starlette's "cannot send once closed".
                    raise SocketGoneError from error

    async def _refuse(self, error: DomainError) -> None:
        await self._send(message("error", code=error.code, detail=error.detail))
        closing = _CLOSING_STATUSES.get(error.status)
        if closing is not None:
            self.close(closing, error.code)

    async def _receive(self) -> None:
        try:
            while True:
                text = await self._websocket.receive_text()
                await self._handle(text)
        except (WebSocketDisconnect, SocketGoneError):
            self._gone()
        except Exception:
            log.exception("websocket receive failed")
            self._gone()

    async def _handle(self, text: str) -> None:
        try:
            request = SubscribeIn.model_validate_json(text)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc']) or 'message'}: {problem['msg']}"
                for problem in error.errors()[:5]
            )
            await self._send(message("error", code="invalid_message", detail=problems))
            return
        if not self._hub.ready:
            await self._send(
                message("error", code="feed_starting", detail="Live updates are starting: retry.")
            )
            self.close(CLOSE_TRY_LATER, "feed starting")
            return
        await self._stop_pump()
        subscription = request.to_subscription()
        try:
            since = service.parse_since(request.since)
            async with transaction(self._sessions) as session:
                view = await self._session(session)
                filter_ = await service.authorise(
                    session, subscription, view, self._settings.availability_max_days
                )
        except DomainError as error:
            await self._refuse(error)
            return
        self._subscription = subscription
        self._pump = asyncio.create_task(self._deliver(filter_, since))

    async def _session(self, session: AsyncSession) -> SessionView | None:
        if self._token is None:
            return None
        return await resolve_session(session, self._token)

    async def _stop_pump(self) -> None:
        if self._subscriber is not None:
            self._hub.detach(self._subscriber)
            self._subscriber = None
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump
            self._pump = None

    async def _deliver(self, filter_: Filter, since: Cursor | None) -> None:
        """Replay what the subscriber missed, then hand it to the hub for live delivery;
        catch up from the feed again whenever it falls further behind than its queue."""
        through = since if since is not None else self._hub.position
        try:
            await self._send(message("subscribed", cursor=str(through)))
            through = await self._replay(filter_, through)
            live: str | None = message("live", cursor=str(through))
            while True:
                subscriber = Subscriber(filter_, self._hub.queue_capacity)
                if live is not None:
                    subscriber.offer(live)
                    live = None
                # No await between the replay reaching the hub's position and this.
                self._hub.attach(subscriber, through)
                self._subscriber = subscriber
                through = await self._replay(filter_, await self._forward(subscriber))
        except DomainError as error:
            await self._refuse(error)
        except TimeoutError:
            self.close(CLOSE_TOO_SLOW, "too slow: reconnect with your cursor")
        except SocketGoneError:
            self._gone()  # the client closed the page: nothing to say
        except Exception:
            # The database went away mid-replay: the client reconnects with its cursor and
            # loses nothing.
            log.warning("delivery ended early", exc_info=True)
            self.close(CLOSE_INTERNAL, "delivery failed: reconnect with your cursor")

    async def _forward(self, subscriber: Subscriber) -> Cursor:
        """Send what the hub queues until the queue, having overflowed, runs dry; answers the
        cursor to read the feed from."""
        while subscriber.behind is None or not subscriber.queue.empty():
            await self._send(await subscriber.queue.get())
        self._hub.detach(subscriber)
        self._subscriber = None
        return subscriber.behind

    async def _replay(self, filter_: Filter, through: Cursor) -> Cursor:
        scope = service.scope_of(filter_)
        first = True
        while through < self._hub.position:
            target = self._hub.position
            async with transaction(self._sessions) as session:
                connection = await feed.driver_connection(session)
                page = await feed.read(connection, through, upto=target, limit=PAGE, scope=scope)
            if first:
                service.check_not_pruned(through, page)
                first = False
            for change in page.changes:
                if filter_.matches(change) and (view := filter_.view(change)) is not None:
                    await self._send(message("change", change=view))
            through = page.changes[-1].cursor if len(page.changes) == PAGE else target
        return through

    async def _check_session(self) -> None:
        """Close a private subscription once its session ends or loses the right to it; an
        open socket never keeps an idle session alive.

        A check that fails (the database unreachable) is retried every second, and the socket
        is closed when its session stays unverified for ws_session_unverified_grace_seconds: it
        fails closed. The feed's connection going or coming back triggers a check at once.
        """
        assert self._token is not None
        unverified_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            wait = (
                UNVERIFIED_RETRY_SECONDS
                if unverified_since is not None
                else self._settings.ws_session_check_seconds
            )
            link_changed = self._hub.link_changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await link_changed.wait()
            subscription = self._subscription
            if subscription is None or subscription.channel is Channel.AVAILABILITY:
                unverified_since = None
                continue
            try:
                refusal = await self._verify(subscription)
            except Exception as error:
                unverified_since = unverified_since or loop.time()
                log.warning("websocket session check failed: %s", type(error).__name__)
                if (
                    loop.time() - unverified_since
                    < self._settings.ws_session_unverified_grace_seconds
                ):
                    continue
                await self._stop_pump()
                with contextlib.suppress(SocketGoneError, TimeoutError):
                    await self._send(
                        message(
                            "error",
                            code="session_unverified",
                            detail="Your session cannot be checked right now: reconnect shortly.",
                        )
                    )
                self.close(CLOSE_TRY_LATER, "session cannot be checked: reconnect")
                return
            unverified_since = None
            if refusal is not None:
                await self._stop_pump()
                await self._refuse(refusal)
                return

    async def _verify(self, subscription: Subscription) -> DomainError | None:
        """Why the session may no longer follow this subscription, or None."""
        assert self._token is not None
        async with transaction(self._sessions) as session:
            view = await resolve_session(session, self._token, touch=False)
            if view is None:
                return SessionEndedError(
                    "Your session has ended: sign in again to keep following changes."
                )
            try:
                await service.authorise(
                    session, subscription, view, self._settings.availability_max_days
                )
            except DomainError as error:
                return error
        return None
