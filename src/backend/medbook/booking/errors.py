"""The booking domain's errors, each with its stable code."""

from medbook.kernel.errors import (
    ConflictError,
    DomainError,
    GoneError,
    NotFoundError,
    TooManyError,
    UnprocessableError,
)


class AppointmentNotFoundError(NotFoundError):
    code = "appointment_not_found"


class SlotTakenError(ConflictError):
    code = "slot_taken"


class SlotNotOfferedError(UnprocessableError):
    code = "slot_not_offered"


class HoldExpiredError(GoneError):
    code = "hold_expired"


class HoldReleasedError(GoneError):
    code = "hold_released"


class HoldLimitReachedError(TooManyError):
    code = "hold_limit_reached"


class InvalidTransitionConflictError(ConflictError):
    code = "invalid_transition"


class TooLateError(ConflictError):
    code = "too_late"


class TooEarlyError(ConflictError):
    code = "too_early"


class ContactDetailsMissingError(ConflictError):
    code = "contact_details_missing"


class PaymentRequiredError(DomainError):
    status = 402
    code = "payment_required"


class NotBookedError(ConflictError):
    code = "not_booked"


class PractitionerNotAtClinicError(UnprocessableError):
    """Time is blocked only at a clinic where the practitioner works then."""

    code = "practitioner_not_at_clinic"


class WorksElsewhereThenError(ConflictError):
    """A block would take away the practitioner's hours at another clinic."""

    code = "practitioner_works_elsewhere_then"
