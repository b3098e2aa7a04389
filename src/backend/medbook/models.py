"""Every table, imported in one place for Alembic and the schema tests."""

from medbook.booking.models import Appointment
from medbook.clinics.models import (
    Clinic,
    ClinicClosure,
    OpeningHours,
    Practitioner,
    Room,
    Service,
    TimeOff,
    WeeklyAvailability,
    practitioner_services,
)
from medbook.db import Base
from medbook.idempotency.models import IdempotentRequest
from medbook.patients.models import Patient

__all__ = [
    "Appointment",
    "Base",
    "Clinic",
    "ClinicClosure",
    "IdempotentRequest",
    "OpeningHours",
    "Patient",
    "Practitioner",
    "Room",
    "Service",
    "TimeOff",
    "WeeklyAvailability",
    "practitioner_services",
]
