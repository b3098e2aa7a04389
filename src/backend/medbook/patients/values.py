"""The plain values the patients domain's routes, schemas, rules and SQL pass between them, and
the port through which it learns who is a patient of which clinics. No I/O, no framework:
schemas may import them without importing the rules."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, ColumnExpressionArgument

from medbook.patients.models import Patient


@dataclass(frozen=True, slots=True)
class ContactDetails:
    full_name: str
    phone: str  # E.164, already normalised at the edge
    email: str | None = None


@dataclass(frozen=True, slots=True)
class PatientMatch:
    """A patient found at the desk. `known_here`: they have a booking at a clinic where the
    staff member may see patients; otherwise they were found only by a whole identifier they
    gave, and the desk is shown no more than it needs to book them (not their contact details)."""

    patient: Patient
    known_here: bool


class BookedAt(Protocol):
    """The condition "this patient has a booking at one of these clinics, now or ever": who is
    a patient of theirs (ADR 0009), as SQL on the caller's patients.id column, so a search stays
    one query.

    Bookings are booking's, and patients sit below booking: they neither import booking nor
    read its table. app.py hands the patients domain booking's condition
    (booking.repository.patient_booked_at) through this port.
    """

    def __call__(
        self, patient_id: ColumnExpressionArgument[uuid.UUID], clinic_ids: Collection[uuid.UUID]
    ) -> ColumnElement[bool]: ...
