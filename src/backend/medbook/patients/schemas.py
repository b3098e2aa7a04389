"""What the patients API accepts and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

import phonenumbers
from pydantic import AfterValidator, BaseModel, Field

from medbook.identity.schemas import GrantOut
from medbook.identity.sessions import SessionView
from medbook.patients.models import Patient
from medbook.patients.values import ContactDetails, PatientMatch
from medbook.schemas import SingleLine, StrictModel


def _singapore_phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "SG")
    except phonenumbers.NumberParseException as error:
        raise ValueError("is not a phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number (e.g. +65 8123 4567)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PhoneNumber = Annotated[
    str,
    Field(
        min_length=3,
        max_length=32,
        description="A phone number that can be dialled: Singapore's when it has no country "
        "code (+65 9123 4567, 6123 4567). Stored as E.164.",
        json_schema_extra={"pattern": r"^\+?[0-9()][0-9 ().\-]{2,31}$"},
    ),
    AfterValidator(_singapore_phone),
]


class ContactIn(StrictModel):
    full_name: SingleLine = Field(min_length=1, max_length=200, examples=["Tan Mei Ling"])
    phone: PhoneNumber = Field(examples=["+65 9123 4567"])
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def to_contact(self) -> ContactDetails:
        return ContactDetails(self.full_name, self.phone, self.email)


class PatientOut(BaseModel):
    id: uuid.UUID
    full_name: str | None
    phone: str | None
    email: str | None
    nric_masked: str | None = Field(
        description="The NRIC/FIN as staff and the patient see it (S****567A); never in full."
    )
    needs_contact_details: bool = Field(
        description="True until the patient has given a name and phone number."
    )

    @classmethod
    def from_row(cls, patient: Patient) -> PatientOut:
        return cls(
            id=patient.id,
            full_name=patient.full_name,
            phone=patient.phone,
            email=patient.email,
            nric_masked=patient.nric_masked,
            needs_contact_details=patient.full_name is None or patient.phone is None,
        )


class PatientSummaryOut(BaseModel):
    """Who a visit is for, as the desk's day shows it."""

    id: uuid.UUID
    full_name: str | None
    phone: str | None = Field(
        description="Null for a patient of another clinic only (found by a whole identifier)."
    )
    nric_masked: str | None = Field(description="S****567A; never in full.")

    @classmethod
    def from_row(cls, patient: Patient, *, known_here: bool = True) -> Self:
        """`known_here` False: a patient of other clinics only, shown without contact details."""
        return cls.model_validate(
            {
                "id": patient.id,
                "full_name": patient.full_name,
                "phone": patient.phone if known_here else None,
                "nric_masked": patient.nric_masked,
            }
        )


class PatientMatchOut(PatientSummaryOut):
    """A patient found by the desk's search."""

    email: str | None
    known_here: bool = Field(
        description="True: a patient of a clinic where you may see patients (a booking there). "
        "False: registered at another clinic only, found by the whole NRIC/FIN or phone number "
        "they gave; their contact details are not shown until they book here."
    )

    @classmethod
    def from_match(cls, match: PatientMatch) -> PatientMatchOut:
        patient, known_here = match.patient, match.known_here
        return cls(
            id=patient.id,
            full_name=patient.full_name,
            phone=patient.phone if known_here else None,
            nric_masked=patient.nric_masked,
            email=patient.email if known_here else None,
            known_here=known_here,
        )


class SessionOut(BaseModel):
    kind: str = Field(description="patient or staff")
    stage: str = Field(
        description="full; or, for staff between password and code, second_factor or enrol"
    )
    csrf_token: str = Field(description="Send as X-CSRF-Token with every state-changing request.")
    expires_at: datetime = Field(description="When the session ends however active it is.")
    idle_expires_at: datetime = Field(description="When it ends if no request comes first.")
    patient: PatientOut | None = None
    staff_id: uuid.UUID | None = None
    grants: list[GrantOut] = Field(default_factory=list)

    @classmethod
    def of(cls, view: SessionView, patient: PatientOut | None) -> SessionOut:
        return cls(
            kind=view.kind,
            stage=view.stage,
            csrf_token=view.csrf_token,
            expires_at=view.expires_at,
            idle_expires_at=view.idle_expires_at,
            patient=patient,
            staff_id=view.staff_id,
            grants=[GrantOut(role=g.role.value, clinic_id=g.clinic_id) for g in view.staff_grants],
        )
