"""The audit trail. Rows are only ever added: a trigger refuses UPDATE and DELETE."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from medbook.db import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_actor", "actor_id", "at"),
        Index("ix_audit_events_subject", "subject_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    action: Mapped[str] = mapped_column(String(48), index=True)  # e.g. staff.sign_in.failed
    actor_kind: Mapped[str | None] = mapped_column(String(8))  # patient, staff, system
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    subject_kind: Mapped[str | None] = mapped_column(String(16))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    clinic_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # A keyed hash of the client address: enough to see a pattern, not to find a person.
    client_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # Ids and reasons only: never a password, a code, a token or an NRIC.
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
