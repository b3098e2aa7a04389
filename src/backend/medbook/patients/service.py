"""Patient records. Sign-in and identity matching arrive with the identity work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.patients.models import Patient


@dataclass(frozen=True, slots=True)
class ContactDetails:
    full_name: str
    phone: str  # E.164, already normalised at the edge
    email: str | None = None


_REGISTER = insert(Patient).returning(Patient.id)


async def register_patient(session: AsyncSession, contact: ContactDetails) -> uuid.UUID:
    """Record a patient's contact details; answers the new patient's id."""
    values = {"full_name": contact.full_name, "phone": contact.phone, "email": contact.email}
    patient_id: uuid.UUID = (await session.execute(_REGISTER, values)).scalar_one()
    return patient_id
