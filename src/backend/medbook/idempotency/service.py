"""Idempotency-Key: a retried POST replays its first answer and creates nothing new.

The key row is inserted in the request's own transaction. A concurrent retry with the same key
blocks on the primary key until the first request commits (then replays its answer) or rolls
back (then runs as if it were first). A failed request stores nothing, so it can be retried.

No HTTP here: the caller's routes turn the Answer into a response (and say when it is replayed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.idempotency import repository
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


def fingerprint(payload: BaseModel) -> str:
    # JSON as the API spells it (aliases): the very text fastapi's jsonable_encoder made of a
    # model, so fingerprints stored before still match.
    as_json = payload.model_dump(mode="json", by_alias=True)
    canonical = json.dumps(as_json, sort_keys=True, separators=(",", ":"))
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
    payload: BaseModel,
    status_code: int,
    produce: Callable[[], Awaitable[BaseModel]],
    ttl_hours: int,
) -> Answer:
    """Run `produce` unless this scope and key already have an answer; then return that one."""
    if key is None:
        return Answer(status_code, (await produce()).model_dump(mode="json"), replayed=False)
    _check_key(key)
    digest = fingerprint(payload)
    await repository.forget_expired(session, scope, key, ttl_hours)
    if not await repository.claim(session, scope, key, digest):
        stored = await repository.stored(session, scope, key)
        if stored.fingerprint != digest:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was already used with a different request body; use a new key."
            )
        assert stored.status_code is not None
        return Answer(stored.status_code, stored.response_body, replayed=True)
    body = (await produce()).model_dump(mode="json")
    await repository.store_answer(session, scope, key, status_code, body)
    return Answer(status_code, body, replayed=False)
