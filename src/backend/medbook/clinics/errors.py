"""What the clinic administration refuses, each with its status and stable code."""

from __future__ import annotations

from medbook.kernel.errors import ClinicNotFoundError as ClinicNotFoundError
from medbook.kernel.errors import ConflictError, NotFoundError, UnprocessableError


class PractitionerNotFoundError(NotFoundError):
    code = "practitioner_not_found"


class ServiceNotFoundError(NotFoundError):
    code = "service_not_found"


class AvailabilityNotFoundError(NotFoundError):
    code = "availability_not_found"


class TimeOffNotFoundError(NotFoundError):
    code = "time_off_not_found"


class ClosureNotFoundError(NotFoundError):
    code = "closure_not_found"


class RegistrationNumberTakenError(ConflictError):
    code = "registration_number_taken"


class ServiceCodeTakenError(ConflictError):
    code = "service_code_taken"


class ClinicAlreadyClosedError(ConflictError):
    code = "clinic_already_closed"


class UnknownServicesError(UnprocessableError):
    code = "unknown_services"


class InvalidServiceRulesError(UnprocessableError):
    """A service's numbers break one of its rules; the code says which (e.g. grid_must_divide_day)."""

    code = "invalid_service"


class AvailabilityOverlapsError(UnprocessableError):
    code = "availability_overlaps"


class InvalidAvailabilityError(UnprocessableError):
    """A template line that cannot be: the code says why (e.g. availability_ends_before_start)."""

    code = "invalid_availability"


class RoomNotAtClinicError(UnprocessableError):
    code = "room_not_at_clinic"


class InvalidTimeOffError(UnprocessableError):
    code = "time_off_ends_before_start"


class TimeOffOverlapsError(UnprocessableError):
    code = "time_off_overlaps"


class InvalidPeriodError(UnprocessableError):
    code = "invalid_period"
