"""What the patients domain refuses, each with its status and stable code."""

from __future__ import annotations

from medbook.kernel.errors import ConflictError, NotFoundError


class PatientNotFoundError(NotFoundError):
    code = "patient_not_found"


class NricOnAnotherRecordError(ConflictError):
    code = "nric_on_another_record"
