"""Domain errors: a rule said no. Each has a stable `code` and the HTTP status the edge answers
with; the rendering (problem+json) lives at the edge, in medbook/errors.py. No framework here."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. Subclasses fix the HTTP status and the stable code."""

    status: int = 400
    code: str = "bad_request"
    # Commit the request's writes even though it fails (see db.transaction).
    keep_changes: bool = False
    headers: dict[str, str] | None = None  # e.g. Retry-After

    def __init__(
        self, detail: str, *, code: str | None = None, keep_changes: bool | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if keep_changes is not None:
            self.keep_changes = keep_changes


class NotFoundError(DomainError):
    status = 404
    code = "not_found"


class ClinicNotFoundError(NotFoundError):
    """Every domain refers to clinics by id (grants, bookings, feeds): one error for one that
    does not exist, whoever finds out."""

    code = "clinic_not_found"


class ConflictError(DomainError):
    status = 409
    code = "conflict"


class GoneError(DomainError):
    status = 410
    code = "gone"


class UnprocessableError(DomainError):
    status = 422
    code = "invalid_request"


class ForbiddenError(DomainError):
    status = 403
    code = "forbidden"


class UnauthorizedError(DomainError):
    status = 401
    code = "unauthorized"


class TooManyError(DomainError):
    status = 429
    code = "too_many"


class BusyError(ConflictError):
    """Another transaction holds what this one needs (a lock held past lock_timeout, a
    deadlock): nothing changed, and the same request may simply be sent again shortly."""

    code = "busy"
    retry_after_seconds = 1
    headers = {"Retry-After": str(retry_after_seconds)}
