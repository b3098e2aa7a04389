"""Domain errors and their one rendering: RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://medbook.sg/problems/"


class Problem(BaseModel):
    """RFC 9457 problem details, with a machine-readable `code` extension."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "slot_taken"])
    title: str = Field(examples=["Conflict"])
    status: int = Field(examples=[409])
    code: str = Field(examples=["slot_taken"], description="Stable, machine-readable error code.")
    detail: str = Field(examples=["That time was just taken by someone else."])
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field problems of a request that failed validation."
    )


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


def problem_response(
    status: int, code: str, detail: str, request: Request, **extra: Any
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=HTTPStatus(status).phrase,
        status=status,
        code=code,
        detail=detail,
        instance=request.url.path,
        **extra,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON
    )


# lock_not_available (lock_timeout), deadlock_detected, serialization_failure
RETRYABLE_SQLSTATES = frozenset({"55P03", "40P01", "40001"})


def sqlstate(exc: BaseException) -> str | None:
    original = getattr(exc, "orig", None)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return state if isinstance(state, str) else None


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Echoing `input` back could reflect personal data or secrets: location and message only.
    return [
        {
            "loc": list(error.get("loc", ())),
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        response = problem_response(exc.status, exc.code, exc.detail, request)
        response.headers.update(exc.headers or {})
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"][1:]) or "request"
        detail = f"{where}: {first['msg']}"
        return problem_response(422, "validation_failed", detail, request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, code, str(exc.detail), request)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        if sqlstate(exc) in RETRYABLE_SQLSTATES:
            # Another transaction held what we needed past lock_timeout: nothing was changed,
            # and the same request is likely to succeed in a moment.
            return problem_response(
                409, "busy", "Someone else is changing this right now. Please try again.", request
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal_error", "Something went wrong on our side.", request)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": Problem,
        "content": {PROBLEM_JSON: {}},
        "description": HTTPStatus(status).phrase,
    }
    for status in (401, 403, 404, 409, 410, 422, 429)
}
