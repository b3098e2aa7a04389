"""Patient records: Singpass patients recognised by their UUID, contact details, walk-ins, and
the patient's sign-in with Singpass (identity verifies the person and keeps the session; the
record behind them is ours)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.audit.service import AuditContext, record
from medbook.data_key import DataKey
from medbook.identity import service as identity_service
from medbook.identity.sessions import NewSession
from medbook.identity.singpass import SingpassClient
from medbook.kernel.errors import ForbiddenError
from medbook.kernel.permissions import Permission, StaffPrincipal
from medbook.patients import nric as nrics
from medbook.patients import repository
from medbook.patients.errors import NricOnAnotherRecordError, PatientNotFoundError
from medbook.patients.models import Patient
from medbook.patients.values import BookedAt, ContactDetails, PatientMatch
from medbook.settings import Settings


@dataclass(frozen=True, slots=True)
class SignedInPatient:
    id: uuid.UUID
    is_new: bool
    needs_contact_details: bool


async def register_patient(session: AsyncSession, contact: ContactDetails) -> uuid.UUID:
    """Record a patient met at the desk (no Singpass); answers the new patient's id."""
    return await repository.insert_patient(session, contact.full_name, contact.phone, contact.email)


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
    upserted = await repository.upsert_singpass_patient(
        session, singpass_uuid, ciphertext, index, masked
    )
    if upserted is None:
        raise NricOnAnotherRecordError(
            "This NRIC is already on another patient record. Please contact the clinic so "
            "we can merge the records."
        )
    patient_id, created = upserted
    complete = await repository.has_contact_details(session, patient_id)
    return SignedInPatient(patient_id, created, not complete)


@dataclass(frozen=True, slots=True)
class FinishedLogin:
    session: NewSession
    patient: SignedInPatient
    return_to: str


async def finish_singpass_login(
    session: AsyncSession,
    singpass: SingpassClient,
    key: DataKey,
    settings: Settings,
    audit: AuditContext,
    *,
    state: str,
    code: str,
    issuer: str | None,
    browser_binding: str | None,
    replaced_session: uuid.UUID | None,
) -> FinishedLogin:
    """Singpass's callback: identity checks it against its attempt and redeems the code; the
    person it names is recognised (or recorded) as a patient, who gets a new session."""
    verified = await identity_service.verify_singpass_callback(
        session,
        singpass,
        audit,
        state=state,
        code=code,
        issuer=issuer,
        browser_binding=browser_binding,
    )
    patient = await sign_in_with_singpass(session, key, verified.person.uuid, verified.person.nric)
    new = await identity_service.start_patient_session(
        session,
        settings,
        audit,
        patient.id,
        new_patient=patient.is_new,
        replaced_session=replaced_session,
    )
    return FinishedLogin(new, patient, verified.return_to)


async def get_patient(session: AsyncSession, patient_id: uuid.UUID) -> Patient:
    patient = await repository.get_patient(session, patient_id)
    if patient is None:
        raise PatientNotFoundError(f"There is no patient {patient_id}.")
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
    phone: str | None  # a whole, valid phone number, in E.164 as stored


def search_terms(query: str) -> SearchTerms:
    """Read the desk's query as a phone number, the end of an NRIC or a whole NRIC. Pure."""
    squeezed = re.sub(r"\s+", "", query).upper()
    digits = re.sub(r"\D", "", query)
    phone_like = _PHONE_LIKE.fullmatch(query) is not None
    phone = digits if phone_like and len(digits) >= 3 else None
    tail = squeezed if _NRIC_TAIL.fullmatch(squeezed) else None
    try:
        whole: str | None = nrics.normalise_nric(squeezed)
    except ValueError:
        whole = None
    return SearchTerms(phone, tail, whole, whole_phone(query) if phone_like else None)


def whole_phone(text: str) -> str | None:
    """The phone number in E.164 if `text` is a whole, valid one (Singapore's unless it says
    otherwise), else None."""
    try:
        number = phonenumbers.parse(text, "SG")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


async def search_patients(
    session: AsyncSession,
    staff: StaffPrincipal,
    query: str,
    key: DataKey,
    audit: AuditContext,
    booked_at: BookedAt,
) -> list[PatientMatch]:
    """Find patients for the desk (ADR 0009).

    The patients of the clinics where the staff member may see patients (a booking there, now
    or ever) by a part of the name, the phone number (any formatting) or the end of the NRIC as
    staff see it masked. A patient of another clinic only by a whole identifier the patient
    gives at the desk: their whole NRIC/FIN (matched by its blind index: nothing is decrypted)
    or their whole phone number, so that a first visit here is booked on their record instead
    of a duplicate. Each search is audited with its number of results, never its text, and
    each patient found by an identifier is audited by id.
    """
    clinics = staff.clinics_with(Permission.VIEW_PATIENTS)
    if clinics == frozenset():
        raise ForbiddenError(
            f"Your role does not allow {Permission.VIEW_PATIENTS.value} at any clinic.",
            code="not_permitted",
        )
    terms = search_terms(query)
    nric_index = key.blind_index(terms.nric, purpose=nrics.PURPOSE) if terms.nric else None
    own = await repository.find_patients(
        session,
        name_part=query,
        phone_digits=terms.phone_digits,
        nric_tail=terms.nric_tail,
        nric_index=nric_index,
        clinic_ids=clinics,
        booked_at=booked_at,
        limit=SEARCH_LIMIT,
    )
    found = [PatientMatch(patient, known_here=True) for patient in own]
    if clinics is not None:
        elsewhere = await repository.find_by_identifier(
            session,
            nric_index=nric_index,
            phone=terms.phone,
            excluding={patient.id for patient in own},
            limit=SEARCH_LIMIT - len(own),
        )
        found += [PatientMatch(patient, known_here=False) for patient in elsewhere]
    await record(session, "patient.search", audit, results=len(found))
    for match in found:
        if not match.known_here:
            await record(
                session,
                "patient.found_by_identifier",
                audit,
                subject_kind="patient",
                subject_id=match.patient.id,
                by="nric" if terms.nric else "phone",
            )
    return found


async def known_at(
    session: AsyncSession, staff: StaffPrincipal, patient_id: uuid.UUID, booked_at: BookedAt
) -> bool:
    """Is the patient one of a clinic where the staff member may see patients (`booked_at`:
    booking's condition, ADR 0009)?"""
    clinics = staff.clinics_with(Permission.VIEW_PATIENTS)
    if clinics is None:
        return True
    return patient_id in await repository.patients_booked_at(
        session, [patient_id], clinics, booked_at
    )


# What other domains read of patients: they ask here, never the repository.


async def patient_exists(session: AsyncSession, patient_id: uuid.UUID) -> bool:
    return await repository.patient_exists(session, patient_id)


async def patients_by_ids(
    session: AsyncSession, patient_ids: Collection[uuid.UUID]
) -> Sequence[Patient]:
    """The patients with these ids, in one query."""
    return await repository.patients_by_ids(session, patient_ids)


async def has_contact_details(session: AsyncSession, patient_id: uuid.UUID) -> bool:
    """Does the patient's record have the name and phone number a booking needs?"""
    return await repository.has_contact_details(session, patient_id)
