"""Domain errors and their one rendering: RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import asyncpg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medbook.db import RETRYABLE_SQLSTATES, sqlstate
from medbook.kernel.errors import BusyError, DomainError
from medbook.logs import new_error_id, route_template

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
        code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
        response = problem_response(exc.status_code, code, str(exc.detail), request)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route it tried; a path served by several
            # routes (GET and POST in two functions) answers every one of them.
            response.headers["Allow"] = ", ".join(sorted(allowed_methods(app, request.url.path)))
        return response


def allowed_methods(app: FastAPI, path: str) -> set[str]:
    """The methods the API document lists for this path (the web app's pages, which take
    every other GET path, are not in it)."""
    templates: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        app.state, "path_templates", None
    )
    if templates is None:
        templates = [
            (
                re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"),
                {method.upper() for method in operations},
            )
            for template, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.path_templates = templates
    return {method for pattern, methods in templates if pattern.match(path) for method in methods}


HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """How an exception nobody handled is answered."""

    status: int
    code: str
    detail: str
    retry_after: int | None = None


DATABASE_UNAVAILABLE = Fault(
    503,
    "database_unavailable",
    "The booking system cannot reach its database right now. Please try again in a moment; "
    "send a booking again with the same Idempotency-Key and it is made once.",
    retry_after=2,
)
# The same answer as the booking rules' own BusyError: one code, one status.
BUSY = Fault(
    BusyError.status,
    BusyError.code,
    "Someone else is changing this right now. Please try again.",
    retry_after=BusyError.retry_after_seconds,
)
INTERNAL = Fault(500, "internal_error", "Something went wrong on our side.")

# Connection exceptions (08), the server shutting down or starting up (57P01-57P03), too many
# connections and out of resources (53): the database is away, not our request wrong.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57P", "53")


def classify(error: BaseException) -> Fault:
    """A database that is down, failing over or out of pooled connections is a 503 with
    Retry-After; a lock another transaction held past lock_timeout a 409; anything else a bug."""
    for cause in _causes(error):
        if isinstance(cause, sqlalchemy.exc.TimeoutError):  # no pooled connection came free
            return DATABASE_UNAVAILABLE
        if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
            return DATABASE_UNAVAILABLE
        state = sqlstate(cause) or getattr(cause, "sqlstate", None)
        if isinstance(state, str):
            if state.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
                return DATABASE_UNAVAILABLE
            if state in RETRYABLE_SQLSTATES:
                return BUSY
        if isinstance(cause, OSError | asyncpg.InterfaceError | asyncpg.PostgresConnectionError):
            return DATABASE_UNAVAILABLE
    return INTERNAL


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 10 and all(current is not c for c in chain):
        chain.append(current)
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and all(orig is not c for c in chain):
            chain.append(orig)
        current = current.__cause__ or current.__context__
    return chain


class UnexpectedErrors:
    """Pure ASGI, just outside the routes: what no handler answered is answered here, as
    problem+json, and not raised further. Raising it on (Starlette's default) makes the server
    log the request's data with the traceback and drop the client's keep-alive connection.

    The log gets an error id (also in the answer, for a support call), the route's template and
    where the error was raised; never the request's data or the exception's message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            fault = classify(error)
            error_id = new_error_id()
            where = {"error_id": error_id, "route": route_template(scope), "status": fault.status}
            if fault is INTERNAL:
                log.error("unhandled error", extra=where, exc_info=True)
            else:
                log.warning("%s: %s", fault.code, type(error).__name__, extra=where)
            if started:
                return  # the answer is on its way already: nothing more can be said
            if scope["type"] == "websocket":
                with contextlib.suppress(Exception):
                    await send(
                        {"type": "websocket.close", "code": 1013 if fault.retry_after else 1011}
                    )
                return
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            detail = fault.detail
            if fault is INTERNAL:
                detail += f" (error {error_id})"
            await send_problem(
                send, fault.status, fault.code, detail, instance=scope.get("path"), headers=headers
            )


async def send_problem(
    send: Send,
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """A problem+json answer sent straight from ASGI middleware (before or beside FastAPI)."""
    body = (
        Problem(
            type=PROBLEM_TYPE_BASE + code,
            title=HTTPStatus(status).phrase,
            status=status,
            code=code,
            detail=detail,
            instance=instance if instance and instance.isprintable() else None,
        )
        .model_dump_json(exclude_none=True)
        .encode()
    )
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [
        (name.lower().encode(), value.encode()) for name, value in (headers or {}).items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": Problem,
        "content": {PROBLEM_JSON: {}},
        "description": HTTPStatus(status).phrase,
    }
    for status in (401, 403, 404, 409, 410, 422, 429)
}
