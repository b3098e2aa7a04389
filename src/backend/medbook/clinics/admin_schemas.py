"""What the clinic administration API accepts and answers.

Partial updates (PATCH) change only the fields sent; null is refused except where a field may
be empty (a line's room, its end of validity). Per-field limits are checked here and answered
as 422 validation_failed naming the field; rules across fields are the service's, each with its
own code.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from medbook.clinics.models import TimeOff, WeeklyAvailability
from medbook.clinics.schemas import FromRow, ServiceOut
from medbook.clinics.terms import MINUTES_PER_DAY
from medbook.clinics.values import (
    BookedVisit,
    Changed,
    PractitionerChanges,
    PractitionerView,
    TemplateLine,
)
from medbook.schemas import (
    MULTI_LINE_PATTERN,
    SINGLE_LINE_PATTERN,
    Day,
    Instant,
    StrictModel,
    WallClockTime,
)

AdminDay = Day
AdminTime = Annotated[Instant, Field(description="ISO 8601 with its UTC offset.")]
# Time off belongs to no clinic; every clinic is in Singapore.
LOCAL_TIME = ZoneInfo("Asia/Singapore")
# What a service may cost, in cents: well inside the database's integer.
MAX_CENTS = 100_000_000


Name = Annotated[str, Field(min_length=1, max_length=200), Field(pattern=SINGLE_LINE_PATTERN)]
Title = Annotated[str, Field(min_length=1, max_length=20), Field(pattern=SINGLE_LINE_PATTERN)]
Profession = Annotated[
    str, Field(min_length=1, max_length=40, examples=["doctor"]), Field(pattern=SINGLE_LINE_PATTERN)
]
Reason = Annotated[str, Field(max_length=200), Field(pattern=SINGLE_LINE_PATTERN)]
RequiredReason = Annotated[
    str, Field(min_length=1, max_length=200), Field(pattern=SINGLE_LINE_PATTERN)
]
Description = Annotated[str, Field(max_length=2000), Field(pattern=MULTI_LINE_PATTERN)]
RegistrationNumber = Annotated[
    str,
    Field(
        min_length=2,
        max_length=16,
        pattern=r"^[A-Za-z0-9]+$",
        examples=["M12345A"],
        description="Professional registration number (e.g. SMC's M12345A); stored upper-case.",
    ),
]
ServiceCode = Annotated[
    str,
    Field(
        min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$", examples=["gp-consultation"]
    ),
]
DurationMinutes = Annotated[int, Field(ge=1, le=MINUTES_PER_DAY)]
BufferMinutes = Annotated[int, Field(ge=0, le=MINUTES_PER_DAY)]
GridMinutes = Annotated[
    int,
    Field(ge=1, le=MINUTES_PER_DAY, description="Must divide 1440 (a day) evenly, e.g. 15."),
]
Cents = Annotated[int, Field(ge=0, le=MAX_CENTS)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["SGD"])]
NoticeMinutes = Annotated[int, Field(ge=0, le=366 * MINUTES_PER_DAY)]
DaysAhead = Annotated[int, Field(ge=1, le=3660)]
WindowHours = Annotated[int, Field(ge=0, le=366 * 24)]
OnlinePayment = Literal["none", "deposit", "full"]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday.")]
WallClock = Annotated[
    WallClockTime,
    Field(description="The clinic's local wall-clock time, without offset, e.g. 09:00."),
]
ServiceIds = Annotated[list[uuid.UUID], Field(max_length=100)]


# A PATCH field that may be left out but never set to null: None stands for "left out", and the
# schema does not offer null.
Absent = SkipJsonSchema[None]


class PatchModel(StrictModel):
    """A partial update: fields left out stay as they are."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _null_only_where_allowed(self) -> Self:
        for name in sorted(self.model_fields_set - self.nullable):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null: leave it out to keep it as it is")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


# --- conflicts ----------------------------------------------------------------------------------


class ConflictOut(BaseModel):
    """A future confirmed appointment the change left outside working time. It is unchanged:
    the desk contacts the patient to move or cancel it."""

    appointment_id: uuid.UUID
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    service_id: uuid.UUID | None
    start: datetime = Field(description="In the clinic's timezone.")
    end: datetime

    @classmethod
    def from_visit(cls, visit: BookedVisit) -> ConflictOut:
        tz = ZoneInfo(visit.timezone)
        return cls(
            appointment_id=visit.appointment_id,
            clinic_id=visit.clinic_id,
            practitioner_id=visit.practitioner_id,
            service_id=visit.service_id,
            start=visit.starts_at.astimezone(tz),
            end=visit.ends_at.astimezone(tz),
        )


def conflicts_out(visits: list[BookedVisit]) -> list[ConflictOut]:
    return [ConflictOut.from_visit(visit) for visit in visits]


class ConflictsOut(BaseModel):
    conflicts: list[ConflictOut]

    @classmethod
    def of(cls, visits: list[BookedVisit]) -> ConflictsOut:
        return cls(conflicts=conflicts_out(visits))


# --- practitioners ------------------------------------------------------------------------------


class PractitionerAdminOut(BaseModel):
    id: uuid.UUID
    registration_number: str
    title: str
    full_name: str
    profession: str
    active: bool
    service_ids: list[uuid.UUID]
    clinic_ids: list[uuid.UUID] = Field(
        description="The clinics where they have weekly availability lines: where they work."
    )

    @classmethod
    def from_view(cls, view: PractitionerView) -> PractitionerAdminOut:
        p = view.practitioner
        return cls(
            id=p.id,
            registration_number=p.registration_number,
            title=p.title,
            full_name=p.full_name,
            profession=p.profession,
            active=p.active,
            service_ids=view.service_ids,
            clinic_ids=view.clinic_ids,
        )


class PractitionerChangeOut(BaseModel):
    practitioner: PractitionerAdminOut
    conflicts: list[ConflictOut]

    @classmethod
    def from_change(cls, changed: Changed[PractitionerView]) -> PractitionerChangeOut:
        return cls(
            practitioner=PractitionerAdminOut.from_view(changed.value),
            conflicts=conflicts_out(changed.conflicts),
        )


class PractitionerIn(StrictModel):
    clinic_id: uuid.UUID | None = Field(
        default=None,
        description="The clinic they are created for (needed unless you manage every clinic). "
        "They work there once availability lines there say when.",
    )
    registration_number: RegistrationNumber
    title: Title = "Dr"
    full_name: Name
    profession: Profession
    active: bool = True
    service_ids: ServiceIds = Field(default_factory=list)


class PractitionerPatch(PatchModel):
    title: Title | Absent = None
    full_name: Name | Absent = None
    profession: Profession | Absent = None
    active: bool | Absent = None
    service_ids: ServiceIds | Absent = Field(
        default=None, description="Replaces the list of services they offer."
    )

    def to_changes(self) -> PractitionerChanges:
        return PractitionerChanges(**self.changes())


# --- services -----------------------------------------------------------------------------------


class ServiceAdminOut(ServiceOut):
    active: bool


class ServiceIn(StrictModel):
    code: ServiceCode
    name: Name
    description: Description = ""
    duration_minutes: DurationMinutes
    buffer_before_minutes: BufferMinutes = 0
    buffer_after_minutes: BufferMinutes = 0
    grid_minutes: GridMinutes = 15
    price_cents: Cents
    deposit_cents: Cents = 0
    currency: Currency = "SGD"
    min_notice_minutes: NoticeMinutes = 60
    max_days_ahead: DaysAhead = 60
    cancellation_window_hours: WindowHours = 24
    online_payment: OnlinePayment = Field(
        default="none",
        description="Paid online before the booking is confirmed: nothing, the deposit "
        "(needs deposit_cents > 0) or the full price (needs price_cents > 0).",
    )
    active: bool = True

    def terms(self) -> dict[str, Any]:
        return self.model_dump(exclude={"code"})


class ServicePatch(PatchModel):
    name: Name | Absent = None
    description: Description | Absent = None
    duration_minutes: DurationMinutes | Absent = None
    buffer_before_minutes: BufferMinutes | Absent = None
    buffer_after_minutes: BufferMinutes | Absent = None
    grid_minutes: GridMinutes | Absent = None
    price_cents: Cents | Absent = None
    deposit_cents: Cents | Absent = None
    currency: Currency | Absent = None
    min_notice_minutes: NoticeMinutes | Absent = None
    max_days_ahead: DaysAhead | Absent = None
    cancellation_window_hours: WindowHours | Absent = None
    online_payment: OnlinePayment | Absent = None
    active: bool | Absent = None


# --- weekly availability ------------------------------------------------------------------------


class AvailabilityLineOut(FromRow):
    id: int
    practitioner_id: uuid.UUID
    clinic_id: uuid.UUID
    room_id: uuid.UUID | None
    weekday: int = Field(description="0 = Monday ... 6 = Sunday.")
    start_time: WallClockTime
    end_time: WallClockTime
    valid_from: date
    valid_until: date | None = Field(description="Last day it applies; null: no end.")


class AvailabilityLineChangeOut(BaseModel):
    availability: AvailabilityLineOut
    conflicts: list[ConflictOut]

    @classmethod
    def from_change(cls, changed: Changed[WeeklyAvailability]) -> AvailabilityLineChangeOut:
        return cls(
            availability=AvailabilityLineOut.model_validate(changed.value),
            conflicts=conflicts_out(changed.conflicts),
        )


class AvailabilityLineIn(StrictModel):
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None = Field(default=None, description="A room of this clinic.")
    weekday: Weekday
    start_time: WallClock
    end_time: WallClock
    valid_from: AdminDay = Field(description="First day the line applies.")
    valid_until: AdminDay | None = Field(default=None, description="Last day; null: no end.")

    def to_line(self, clinic_id: uuid.UUID) -> TemplateLine:
        return TemplateLine(clinic_id=clinic_id, **self.model_dump())


class AvailabilityLinePatch(PatchModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"room_id", "valid_until"})

    room_id: uuid.UUID | None = None
    weekday: Weekday | Absent = None
    start_time: WallClock | Absent = None
    end_time: WallClock | Absent = None
    valid_from: AdminDay | Absent = None
    valid_until: AdminDay | None = None


# --- time off and closures ----------------------------------------------------------------------


class TimeOffOut(BaseModel):
    id: int
    practitioner_id: uuid.UUID
    starts_at: datetime = Field(description="In Singapore time.")
    ends_at: datetime = Field(description="Exclusive.")
    reason: str

    @classmethod
    def from_row(cls, row: TimeOff) -> TimeOffOut:
        return cls(
            id=row.id,
            practitioner_id=row.practitioner_id,
            starts_at=row.starts_at.astimezone(LOCAL_TIME),
            ends_at=row.ends_at.astimezone(LOCAL_TIME),
            reason=row.reason,
        )


class TimeOffChangeOut(BaseModel):
    time_off: TimeOffOut
    conflicts: list[ConflictOut]


class TimeOffIn(StrictModel):
    starts_at: AdminTime = Field(description="With its UTC offset.")
    ends_at: AdminTime = Field(description="Exclusive, with its UTC offset.")
    reason: Reason = ""


class ClosureOut(FromRow):
    id: int
    clinic_id: uuid.UUID | None = Field(description="null: a public holiday, every clinic.")
    day: date
    kind: Literal["public_holiday", "closure"]
    reason: str


class ClosuresChangeOut(BaseModel):
    closures: list[ClosureOut]
    conflicts: list[ConflictOut]


class ClosureIn(StrictModel):
    first_day: AdminDay
    last_day: AdminDay | None = Field(
        default=None, description="Inclusive; default: first_day (a single day)."
    )
    reason: RequiredReason = Field(examples=["Renovation"])
