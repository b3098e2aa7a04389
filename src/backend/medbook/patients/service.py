"""Patient records. Sign-in and identity matching arrive with the identity work."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.patients.models import Patient


@dataclass(frozen=True, slots=True)
class ContactDetails:
    full_name: str
    phone: str  # E.164, already normalised at the edge
    email: str | None = None


async def register_patient(session: AsyncSession, contact: ContactDetails) -> Patient:
    statement = (
        insert(Patient)
        .values(full_name=contact.full_name, phone=contact.phone, email=contact.email)
        .returning(Patient)
    )
    patient: Patient = (await session.scalars(statement)).one()
    return patient
