"""What the booking API accepts and answers. Times go out in the clinic's own timezone."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from medbook.booking.models import Appointment
from medbook.booking.values import CheckoutDetails
from medbook.kernel.statuses import Status
from medbook.patients.models import Patient
from medbook.patients.schemas import ContactIn, PatientSummaryOut
from medbook.schemas import Day, Instant, MultiLine, StrictModel

BookingDay = Day
BookingTime = Instant


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
    visit_reason: MultiLine = Field(
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

    def to_details(self) -> CheckoutDetails:
        """What the patient gave at checkout, as the booking rules take it."""
        contact = self.patient.to_contact() if self.patient is not None else None
        return CheckoutDetails(contact, self.visit_reason, self.privacy_consent)


class ConfirmIn(CheckoutDetailsIn):
    """Confirm a hold paid at the clinic."""


class CancelIn(StrictModel):
    reason: MultiLine = Field(default="", max_length=500)


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


class BlockIn(StrictModel):
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    start: BookingTime
    end: BookingTime
    reason: MultiLine = Field(default="", max_length=500)


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
    def from_row(cls, row: Appointment, status: Status, tz: ZoneInfo, **extra: Any) -> Self:
        """The row as the API shows it; `extra` fills the fields a subclass adds."""
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
            **extra,
        )


class AppointmentsWhen(StrEnum):
    UPCOMING = "upcoming"  # not over yet, soonest first
    PAST = "past"  # over, most recent first


class MyAppointmentOut(AppointmentOut):
    visit_reason: str = Field(description="What the patient said the visit is for.")

    @classmethod
    def from_patient_row(cls, row: Appointment, status: Status) -> MyAppointmentOut:
        return cls.from_row(
            row, status, ZoneInfo(row.clinic.timezone), visit_reason=row.visit_reason
        )


class DeskAppointmentOut(AppointmentOut):
    """An appointment on the desk's day or week view."""

    visit_reason: str | None = Field(
        description="What the patient said the visit is for; null unless you may see patients "
        "at this clinic."
    )
    patient: PatientSummaryOut | None = Field(
        description="Who the visit is for; null for blocks, or unless you may see patients at "
        "this clinic."
    )

    @classmethod
    def from_desk_row(
        cls,
        row: Appointment,
        status: Status,
        tz: ZoneInfo,
        patients: Mapping[uuid.UUID, Patient] | None,
    ) -> DeskAppointmentOut:
        """`patients` None: the viewer may not see patients here, so neither who nor why."""
        if patients is None:
            return cls.from_row(row, status, tz, visit_reason=None, patient=None)
        patient = patients.get(row.patient_id) if row.patient_id is not None else None
        return cls.from_row(
            row,
            status,
            tz,
            visit_reason=row.visit_reason,
            patient=PatientSummaryOut.from_row(patient) if patient is not None else None,
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
    appointments: list[DeskAppointmentOut]


class PatientVisitsOut(BaseModel):
    patient: PatientSummaryOut
    appointments: list[DeskAppointmentOut] = Field(
        description="At the clinics where you may see patients only: upcoming soonest first, "
        "past latest first; at most 100."
    )


class ClinicPeriodOut(BaseModel):
    clinic_id: uuid.UUID
    from_day: date = Field(serialization_alias="from")
    to_day: date = Field(serialization_alias="to")
    appointments: list[DeskAppointmentOut] = Field(description="Sorted by start.")
