"""Request-scoped dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.db import transaction
from medbook.settings import Settings, get_settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # A context manager, not a nested generator: the handler's exception must reach
    # transaction() itself, which decides between commit and rollback by its kind.
    async with transaction(request.app.state.sessions) as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a client never
# sees a success that then fails to commit.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def settings() -> Settings:
    # async, like every dependency here: a sync one would cost a thread-pool hop per request.
    return get_settings()


AppSettings = Annotated[Settings, Depends(settings)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying with the same key returns the first answer and creates nothing new.",
        # Checked by the idempotency service (422 invalid_idempotency_key), stated here.
        json_schema_extra={"minLength": 1, "maxLength": 255, "pattern": r"^[\x20-\x7E]+$"},
    ),
]
