"""The idempotency domain's SQL: one row per (scope, key), holding the answer once there is one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from medbook.idempotency.models import IdempotentRequest


def _expired(ttl_hours: int) -> ColumnElement[bool]:
    """Older than the time answers are kept."""
    return IdempotentRequest.created_at < func.now() - func.make_interval(0, 0, 0, 0, ttl_hours)


async def forget_expired(session: AsyncSession, scope: str, key: str, ttl_hours: int) -> None:
    """Forget this key's row if it is older than the time answers are kept."""
    await session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.scope == scope, IdempotentRequest.key == key, _expired(ttl_hours)
        )
    )


async def forget_all_expired(session: AsyncSession, ttl_hours: int) -> int:
    """Forget every answer older than the time answers are kept; answers how many."""
    result = await session.execute(delete(IdempotentRequest).where(_expired(ttl_hours)))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def claim(session: AsyncSession, scope: str, key: str, fingerprint: str) -> bool:
    """Take the key for this request; False when a request with it came first (this one waits
    on the primary key until that one's transaction ends)."""
    inserted = await session.execute(
        insert(IdempotentRequest)
        .values(scope=scope, key=key, fingerprint=fingerprint)
        .on_conflict_do_nothing()
        .returning(IdempotentRequest.key)
    )
    return inserted.first() is not None


async def stored(session: AsyncSession, scope: str, key: str) -> IdempotentRequest:
    query = select(IdempotentRequest).where(
        IdempotentRequest.scope == scope, IdempotentRequest.key == key
    )
    return (await session.scalars(query)).one()


async def store_answer(
    session: AsyncSession, scope: str, key: str, status_code: int, body: Any
) -> None:
    await session.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.scope == scope, IdempotentRequest.key == key)
        .values(status_code=status_code, response_body=body)
    )
