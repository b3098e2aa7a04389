"""Live changes: the WebSocket, and the same feed as pages for clients that poll."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket

from medbook.db import transaction
from medbook.deps import AppSettings, DbSession
from medbook.errors import PROBLEM_RESPONSES
from medbook.identity.dependencies import OptionalSession
from medbook.identity.sessions import SESSION_COOKIE, resolve_session
from medbook.realtime import service
from medbook.realtime.changes import Channel
from medbook.realtime.hub import Hub, message
from medbook.realtime.schemas import ChangesOut, SubscriptionIn
from medbook.realtime.socket import CLOSE_TOO_MANY, SocketSession
from medbook.schemas import Day
from medbook.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["real-time"], responses=PROBLEM_RESPONSES)


@router.get(
    "/changes",
    response_model=ChangesOut,
    summary="Changes after a cursor (the polling fallback to the WebSocket)",
    description="Without `since`: no changes, and the cursor to start from. Then ask with "
    "since=<next> until `more` is false, and again every few seconds. The availability channel "
    "needs no sign-in and says only taken or freed; staff needs the clinic's schedule "
    "permission; mine needs a signed-in patient.",
)
async def changes(
    session: DbSession,
    settings: AppSettings,
    view: OptionalSession,
    channel: Channel,
    clinic_id: Annotated[list[uuid.UUID], Query(max_length=10)] = [],  # noqa: B006
    first_day: Annotated[Day | None, Query(alias="from")] = None,
    last_day: Annotated[Day | None, Query(alias="to")] = None,
    practitioner_id: Annotated[list[uuid.UUID] | None, Query(max_length=50)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict[str, object]:
    subscription = SubscriptionIn(
        channel=channel,
        clinic_ids=clinic_id,
        first_day=first_day,
        last_day=last_day,
        practitioner_ids=practitioner_id,
        since=since,
    )
    cursor = service.parse_since(since)
    filter_ = await service.authorise(
        session, subscription.to_subscription(), view, settings.availability_max_days
    )
    return await service.changes_page(session, filter_, cursor, limit)


@router.websocket("/ws")
async def changes_socket(websocket: WebSocket) -> None:
    """Follow changes live: see medbook.realtime.socket for the messages."""
    settings = get_settings()
    hub: Hub = websocket.app.state.hub
    sessions = websocket.app.state.sessions
    token = websocket.cookies.get(SESSION_COOKIE) or None
    view = None
    if token is not None:
        async with transaction(sessions) as session:
            view = await resolve_session(session, token)
    if view is not None:
        key, limit = f"session:{view.id}", settings.ws_max_connections_per_session
    else:
        token = None  # a dead cookie counts for nothing
        address = websocket.client.host if websocket.client else "unknown"
        key, limit = f"address:{address}", settings.ws_max_connections_per_address
    with hub.connection_slot(key, limit) as admitted:
        await websocket.accept()
        if not admitted:
            await websocket.send_text(
                message(
                    "error",
                    code="too_many_connections",
                    detail=f"At most {limit} live connections at once: close another tab.",
                )
            )
            await websocket.close(CLOSE_TOO_MANY, "too many connections")
            return
        await SocketSession(websocket, hub, sessions, settings, token).run()
