"""The plain values the clinic administration's routes, schemas, rules and SQL pass between
them, and the port through which it learns of booked visits. No I/O, no framework: schemas may
import them without importing the rules."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics.models import Practitioner

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TemplateLine:
    """A line's values, apart from its row: what a change would make of it."""

    practitioner_id: uuid.UUID
    clinic_id: uuid.UUID
    room_id: uuid.UUID | None
    weekday: int
    start_time: time
    end_time: time
    valid_from: date
    valid_until: date | None


@dataclass(frozen=True, slots=True)
class BookedVisit:
    """A future confirmed appointment: who, where, and when (in UTC and the clinic's zone)."""

    appointment_id: uuid.UUID
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    service_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime
    timezone: str


class BookedVisits(Protocol):
    """The future confirmed appointments (starting after the database's now), narrowed as asked.

    Appointments are booking's, and clinics sit below booking: they neither import booking nor
    read its table. app.py hands the clinic administration booking's answer
    (booking.service.booked_visits) through this port.
    """

    async def __call__(
        self,
        session: AsyncSession,
        *,
        practitioner_id: uuid.UUID | None = None,
        clinic_id: uuid.UUID | None = None,
        service_ids: Collection[uuid.UUID] | None = None,
        overlapping: tuple[datetime, datetime] | None = None,
    ) -> list[BookedVisit]: ...


@dataclass(frozen=True, slots=True)
class Changed(Generic[T]):
    """What a change made, and the future confirmed appointments it left outside working time."""

    value: T
    conflicts: list[BookedVisit]


@dataclass(frozen=True, slots=True)
class PractitionerView:
    practitioner: Practitioner
    service_ids: list[uuid.UUID]
    clinic_ids: list[uuid.UUID]  # where they have template lines


@dataclass(frozen=True, slots=True)
class PractitionerChanges:
    """A practitioner's new values; None leaves one as it is."""

    title: str | None = None
    full_name: str | None = None
    profession: str | None = None
    active: bool | None = None
    service_ids: Sequence[uuid.UUID] | None = None
