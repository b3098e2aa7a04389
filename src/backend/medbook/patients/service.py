"""Patient records: Singpass patients recognised by their UUID, contact details, walk-ins."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.audit.service import AuditContext, record
from medbook.data_key import DataKey
from medbook.errors import ConflictError, ForbiddenError, NotFoundError
from medbook.identity.permissions import Permission, StaffPrincipal
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


SEARCH_LIMIT = 20
# What a phone number looks like however it is typed: +65 9123-4567, (65) 91234567.
_PHONE_LIKE = re.compile(r"[\d\s+().-]+")
# The end of a masked NRIC, with or without the mask: 373D, *373D, S****373D.
_NRIC_TAIL = re.compile(r"[STFGM]?\**\d{1,3}[A-Z]")


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """What a search box query can mean, besides a part of a name."""

    phone_digits: str | None
    nric_tail: str | None
    nric: str | None  # a whole NRIC/FIN, found by its blind index


def search_terms(query: str) -> SearchTerms:
    """Read the desk's query as a phone number, the end of an NRIC or a whole NRIC. Pure."""
    squeezed = re.sub(r"\s+", "", query).upper()
    digits = re.sub(r"\D", "", query)
    phone = digits if _PHONE_LIKE.fullmatch(query) and len(digits) >= 3 else None
    tail = squeezed if _NRIC_TAIL.fullmatch(squeezed) else None
    try:
        whole: str | None = nrics.normalise_nric(squeezed)
    except ValueError:
        whole = None
    return SearchTerms(phone, tail, whole)


async def search_patients(
    session: AsyncSession, staff: StaffPrincipal, query: str, key: DataKey, audit: AuditContext
) -> Sequence[Patient]:
    """Find patients for the desk by a part of the name, the phone number (any formatting) or
    the end of the NRIC as staff see it masked. A whole NRIC is matched by its blind index:
    nothing is decrypted. Each search is audited with its number of results, never its text."""
    if staff.clinics_with(Permission.VIEW_PATIENTS) == frozenset():
        raise ForbiddenError(
            f"Your role does not allow {Permission.VIEW_PATIENTS.value} at any clinic.",
            code="not_permitted",
        )
    terms = search_terms(query)
    found = await repository.find_patients(
        session,
        name_part=query,
        phone_digits=terms.phone_digits,
        nric_tail=terms.nric_tail,
        nric_index=key.blind_index(terms.nric, purpose=nrics.PURPOSE) if terms.nric else None,
        limit=SEARCH_LIMIT,
    )
    await record(session, "patient.search", audit, results=len(found))
    return found
