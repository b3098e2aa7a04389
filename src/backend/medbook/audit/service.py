"""Record what happened. Called inside the request's transaction, so a rollback drops the row
with the change it describes; failures that roll back are recorded in their own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.audit.models import AuditEvent


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Who is asking, and from where (as a keyed hash)."""

    actor_kind: str | None = None
    actor_id: uuid.UUID | None = None
    client_hash: bytes | None = None


_RECORD = insert(AuditEvent)


async def record(
    session: AsyncSession,
    action: str,
    context: AuditContext,
    *,
    subject_kind: str | None = None,
    subject_id: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
    **detail: Any,
) -> None:
    await session.execute(
        _RECORD,
        {
            "action": action,
            "actor_kind": context.actor_kind,
            "actor_id": context.actor_id,
            "subject_kind": subject_kind,
            "subject_id": subject_id,
            "clinic_id": clinic_id,
            "client_hash": context.client_hash,
            "detail": detail,
        },
    )
