"""Every table, imported in one place for Alembic and the schema tests."""

from medbook.audit.models import AuditEvent
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
from medbook.identity.models import (
    RecoveryCode,
    SingpassLogin,
    StaffMember,
    StaffRole,
    UserSession,
)
from medbook.patients.models import Patient
from medbook.payments.models import GatewayEvent, Payment, Refund
from medbook.privacy.models import Consent

__all__ = [
    "Appointment",
    "AuditEvent",
    "Base",
    "Clinic",
    "ClinicClosure",
    "Consent",
    "GatewayEvent",
    "IdempotentRequest",
    "OpeningHours",
    "Patient",
    "Payment",
    "Practitioner",
    "RecoveryCode",
    "Refund",
    "Room",
    "Service",
    "SingpassLogin",
    "StaffMember",
    "StaffRole",
    "TimeOff",
    "UserSession",
    "WeeklyAvailability",
    "practitioner_services",
]
