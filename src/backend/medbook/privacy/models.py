"""Consents to the privacy notice: who agreed to which version, when, and where."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from medbook.db import Base, uuid_pk


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (
        # One consent per patient and notice version: asking twice records nothing new.
        UniqueConstraint("patient_id", "notice_version", name="uq_consents_patient_version"),
        CheckConstraint("channel IN ('online', 'desk')", name="channel"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    notice_version: Mapped[str] = mapped_column(String(16))
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    channel: Mapped[str] = mapped_column(String(8))  # online (checkout) or desk (staff recorded it)
