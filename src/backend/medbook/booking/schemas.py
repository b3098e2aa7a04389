"""What the booking API accepts and answers. Times go out in the clinic's own timezone."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator

from medbook.booking.models import Appointment
from medbook.booking.service import CheckoutDetails
from medbook.booking.states import Status
from medbook.patients.schemas import ContactIn
from medbook.patients.service import ContactDetails
from medbook.schemas import StrictModel

# Bookings live well inside these years. Near the ends of what `datetime` can hold, slot search's
# timezone and day-either-side arithmetic overflows: that must be a 422, never a 500.
FIRST_BOOKING_DAY = date(2000, 1, 1)
LAST_BOOKING_DAY = date(2999, 12, 31)


def _booking_day(value: date) -> date:
    if not FIRST_BOOKING_DAY <= value <= LAST_BOOKING_DAY:
        raise ValueError(f"must be between {FIRST_BOOKING_DAY} and {LAST_BOOKING_DAY}")
    return value


def _booking_time(value: datetime) -> datetime:
    _booking_day(value.date())
    return value


BookingDay = Annotated[date, AfterValidator(_booking_day)]
BookingTime = Annotated[AwareDatetime, AfterValidator(_booking_time)]


class HoldIn(StrictModel):
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    service_id: uuid.UUID
    start: BookingTime = Field(
        description="Slot start with its UTC offset, as availability returns it."
    )
    patient_id: uuid.UUID | None = Field(
        default=None,
        description="Staff only: the patient this hold is for. Patients hold for themselves.",
    )


class CheckoutDetailsIn(StrictModel):
    """What a patient gives at checkout, whether the hold is confirmed or paid for."""

    patient: ContactIn | None = Field(
        default=None,
        description="Contact details given at checkout; saved to the patient's record. "
        "Optional when the record already has a name and phone number.",
    )
    visit_reason: str = Field(
        default="",
        max_length=500,
        description="What the visit is for, in the patient's words; seen by the clinic's staff. "
        "Empty keeps any reason given before.",
        examples=["Cough for two weeks"],
    )
    privacy_consent: bool = Field(
        default=False,
        description="The patient agrees to the current privacy notice (GET /api/v1/privacy-notice). "
        "Patients must send true once per notice version (else 422 privacy_consent_required); "
        "staff may send true to record a consent the patient gave at the desk.",
    )

    def details(self) -> CheckoutDetails:
        return CheckoutDetails(
            self.patient.to_contact() if self.patient else None,
            self.visit_reason,
            self.privacy_consent,
        )


class ConfirmIn(CheckoutDetailsIn):
    """Confirm a hold paid at the clinic."""


class CancelIn(StrictModel):
    reason: str = Field(default="", max_length=500)


class RescheduleIn(StrictModel):
    start: BookingTime
    practitioner_id: uuid.UUID | None = Field(
        default=None, description="Default: the same practitioner."
    )
    clinic_id: uuid.UUID | None = Field(default=None, description="Default: the same clinic.")


class WalkInIn(StrictModel):
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    service_id: uuid.UUID
    start: BookingTime | None = Field(default=None, description="Default: now.")
    patient_id: uuid.UUID | None = Field(
        default=None, description="A patient on record (see GET /api/v1/staff/patients)."
    )
    patient: ContactIn | None = Field(
        default=None, description="A new patient's contact details: creates their record."
    )

    @model_validator(mode="after")
    def _one_patient(self) -> Self:
        if (self.patient_id is None) == (self.patient is None):
            raise ValueError("give either patient_id (a patient on record) or patient (a new one)")
        return self

    def walk_in_patient(self) -> uuid.UUID | ContactDetails:
        if self.patient_id is not None:
            return self.patient_id
        assert self.patient is not None
        return self.patient.to_contact()


class BlockIn(StrictModel):
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    start: BookingTime
    end: BookingTime
    reason: str = Field(default="", max_length=500)


class AppointmentOut(BaseModel):
    id: uuid.UUID
    kind: str
    status: Status
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    service_id: uuid.UUID | None
    start: datetime
    end: datetime
    hold_expires_at: datetime | None = None
    source: str
    late_cancellation: bool
    rescheduled_from_id: uuid.UUID | None
    note: str

    @classmethod
    def from_row(cls, row: Appointment, status: Status, tz: ZoneInfo) -> AppointmentOut:
        return cls(
            id=row.id,
            kind=row.kind,
            status=status,
            clinic_id=row.clinic_id,
            practitioner_id=row.practitioner_id,
            room_id=row.room_id,
            service_id=row.service_id,
            start=row.starts_at.astimezone(tz),
            end=row.ends_at.astimezone(tz),
            hold_expires_at=row.hold_expires_at.astimezone(tz)
            if status is Status.HELD and row.hold_expires_at
            else None,
            source=row.source,
            late_cancellation=row.late_cancellation,
            rescheduled_from_id=row.rescheduled_from_id,
            note=row.note,
        )


class HoldOut(BaseModel):
    hold_id: uuid.UUID
    expires_at: datetime = Field(description="When the hold lapses, by the database clock.")
    appointment: AppointmentOut


class SlotOut(BaseModel):
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    start: datetime
    end: datetime


class AvailabilityOut(BaseModel):
    service_id: uuid.UUID
    from_day: date = Field(serialization_alias="from")
    to_day: date = Field(serialization_alias="to")
    slots: list[SlotOut]


class ClinicDayOut(BaseModel):
    clinic_id: uuid.UUID
    day: date
    appointments: list[AppointmentOut]
