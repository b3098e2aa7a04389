"""Idempotency-Key: a retried POST replays its first answer and creates nothing new.

The key row is inserted in the request's own transaction. A concurrent retry with the same key
blocks on the primary key until the first request commits (then replays its answer) or rolls
back (then runs as if it were first). A failed request stores nothing, so it can be retried.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.idempotency.models import IdempotentRequest
from medbook.kernel.errors import UnprocessableError

MAX_KEY_LENGTH = 255


class IdempotencyKeyReusedError(UnprocessableError):
    code = "idempotency_key_reused"


class InvalidIdempotencyKeyError(UnprocessableError):
    code = "invalid_idempotency_key"


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    body: Any
    replayed: bool


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(jsonable_encoder(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidIdempotencyKeyError(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        )


async def run_once(
    session: AsyncSession,
    *,
    key: str | None,
    scope: str,
    payload: Any,
    status_code: int,
    produce: Callable[[], Awaitable[BaseModel]],
    ttl_hours: int,
) -> Answer:
    """Run `produce` unless this scope and key already have an answer; then return that one."""
    if key is None:
        return Answer(status_code, (await produce()).model_dump(mode="json"), replayed=False)
    _check_key(key)
    digest = fingerprint(payload)
    await session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.scope == scope,
            IdempotentRequest.key == key,
            IdempotentRequest.created_at < func.now() - func.make_interval(0, 0, 0, 0, ttl_hours),
        )
    )
    inserted = await session.execute(
        insert(IdempotentRequest)
        .values(scope=scope, key=key, fingerprint=digest)
        .on_conflict_do_nothing()
        .returning(IdempotentRequest.key)
    )
    if inserted.first() is None:
        stored = (
            await session.scalars(
                select(IdempotentRequest).where(
                    IdempotentRequest.scope == scope, IdempotentRequest.key == key
                )
            )
        ).one()
        if stored.fingerprint != digest:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was already used with a different request body; use a new key."
            )
        assert stored.status_code is not None
        return Answer(stored.status_code, stored.response_body, replayed=True)
    body = (await produce()).model_dump(mode="json")
    await session.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.scope == scope, IdempotentRequest.key == key)
        .values(status_code=status_code, response_body=body)
    )
    return Answer(status_code, body, replayed=False)
