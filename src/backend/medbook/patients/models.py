"""Patients. Singpass-verified patients are keyed on their Singpass UUID; walk-ins may have none."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from medbook.db import Base, uuid_pk


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[uuid.UUID] = uuid_pk()
    # Null until a Singpass patient gives their contact details at first sign-in.
    full_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    # The Singpass UUID never changes for a person, unlike an NRIC (re-issue, FIN -> NRIC).
    singpass_uuid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The NRIC is personal data, never a credential: stored encrypted (AES-GCM, data key), with
    # a keyed blind index to find a patient by it, and the masked form staff see and search by
    # its last characters (S****567A).
    nric_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    nric_index: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    nric_masked: Mapped[str | None] = mapped_column(String(9))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
