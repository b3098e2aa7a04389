"""Patient records: Singpass patients recognised by their UUID, contact details, walk-ins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.audit.service import AuditContext, record
from medbook.data_key import DataKey
from medbook.errors import ConflictError, NotFoundError
from medbook.patients import nric as nrics
from medbook.patients import repository
from medbook.patients.models import Patient


@dataclass(frozen=True, slots=True)
class ContactDetails:
    full_name: str
    phone: str  # E.164, already normalised at the edge
    email: str | None = None


@dataclass(frozen=True, slots=True)
class SignedInPatient:
    id: uuid.UUID
    is_new: bool
    needs_contact_details: bool


_REGISTER = insert(Patient).returning(Patient.id)


async def register_patient(session: AsyncSession, contact: ContactDetails) -> uuid.UUID:
    """Record a patient met at the desk (no Singpass); answers the new patient's id."""
    values = {"full_name": contact.full_name, "phone": contact.phone, "email": contact.email}
    patient_id: uuid.UUID = (await session.execute(_REGISTER, values)).scalar_one()
    return patient_id


async def update_contact(
    session: AsyncSession,
    patient_id: uuid.UUID,
    contact: ContactDetails,
    audit: AuditContext | None = None,
) -> None:
    await repository.set_contact(
        session, patient_id, contact.full_name, contact.phone, contact.email
    )
    if audit is not None:
        await record(
            session, "patient.contact.updated", audit, subject_kind="patient", subject_id=patient_id
        )


async def sign_in_with_singpass(
    session: AsyncSession, key: DataKey, singpass_uuid: str, nric: str | None
) -> SignedInPatient:
    """Recognise a returning patient by their Singpass UUID, or create the record.

    The NRIC is kept encrypted with a blind index and a masked copy; it identifies the person
    for the clinic's records, and is never used to sign anyone in.
    """
    ciphertext = index = masked = None
    if nric is not None:
        normalised = nrics.normalise_nric(nric)
        ciphertext = key.encrypt(normalised, purpose=nrics.PURPOSE)
        index = key.blind_index(normalised, purpose=nrics.PURPOSE)
        masked = nrics.mask_nric(normalised)
    try:
        async with session.begin_nested():
            patient_id, created = await repository.upsert_singpass_patient(
                session, singpass_uuid, ciphertext, index, masked
            )
    except IntegrityError as error:
        raise ConflictError(
            "This NRIC is already on another patient record. Please contact the clinic so "
            "we can merge the records.",
            code="nric_on_another_record",
        ) from error
    complete = await repository.has_contact_details(session, patient_id)
    return SignedInPatient(patient_id, created, not complete)


async def get_patient(session: AsyncSession, patient_id: uuid.UUID) -> Patient:
    patient = await repository.get_patient(session, patient_id)
    if patient is None:
        raise NotFoundError(f"There is no patient {patient_id}.", code="patient_not_found")
    return patient
