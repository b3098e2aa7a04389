"""Logging that cannot leak: one configuration for every process, a request id on every line.

What a line may carry: ids, route templates, statuses, durations, exception types and where
they were raised. Never request data: no query strings, bodies, SQL parameters, rows, or the
messages of exceptions (a database error's message quotes the values it refused).

`text` is for people at a terminal; `json` (one object per line) is for production, where a
log shipper reads it.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
import traceback
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Literal

import sqlalchemy.exc

LogFormat = Literal["text", "json"]

REQUEST_ID: ContextVar[str] = ContextVar("medbook_request_id", default="-")
# A caller's own request id is kept when it looks like one (a proxy's UUID or hex id); anything
# else (a name, an NRIC) could smuggle text into every line of the request.
_SAFE_REQUEST_ID = re.compile(r"[0-9A-Fa-f-]{16,64}")

# Exceptions whose message names only our own infrastructure (addresses, timeouts), never
# anything a person typed: their message helps whoever reads the log and is kept.
_SAFE_MESSAGES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    sqlalchemy.exc.TimeoutError,
)
# Loggers that print data at their DEBUG (SQLAlchemy's engine logs every row it fetches and
# every statement's parameters; httpcore prints response headers; the gateway's SDK prints
# request and response bodies): they speak at INFO at most, whatever the level asked for.
_CHATTY = {
    "sqlalchemy.engine": "WARNING",
    "sqlalchemy.pool": "WARNING",
    "httpcore": "INFO",
    "hpack": "INFO",
    "stripe": "WARNING",
    "asyncio": "INFO",
    "multipart": "INFO",
    "watchfiles": "WARNING",
    "procrastinate.blueprints": "WARNING",
}
_QUERY = re.compile(r"\?[^\s\"']*")
# Record attributes logging itself sets, and uvicorn's coloured copy of its message.
_STANDARD = frozenset({*vars(logging.makeLogRecord({})), "message", "asctime", "color_message"})


def new_request_id(given: str | None) -> str:
    if given is not None and _SAFE_REQUEST_ID.fullmatch(given):
        return given
    # Hyphenated: a bare run of hex digits now and then spells a number a card scanner flags.
    return str(uuid.uuid4())


def new_error_id() -> str:
    return str(uuid.uuid4())[:13]


def safe_exception_text(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None],
) -> str:
    """The traceback as Python prints it, but without what the exceptions say: types and
    places only (causes too)."""
    blocks: list[str] = []
    for error in _chain(exc_info[1]):
        message = str(error) if isinstance(error, _SAFE_MESSAGES) else "(message withheld)"
        frames = traceback.extract_tb(error.__traceback__)
        blocks.append(
            "\n".join(
                [
                    "Traceback (most recent call last):",
                    *(
                        f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}'
                        for frame in frames
                    ),
                    f"{type(error).__module__}.{type(error).__qualname__}: {message}",
                ]
            )
        )
    return "\n\nThen:\n".join(blocks)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The exception and what it was raised from or during, oldest first, as Python prints."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not other for other in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return reversed(seen)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (a dash outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class QueryStringFilter(logging.Filter):
    """Strips query strings from what another library logs (uvicorn's WebSocket lines, httpx's
    outbound request lines): a query string may carry a name, a code or a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _QUERY.sub("?…", arg) if isinstance(arg, str) else _strip_url(arg)
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _QUERY.sub("?…", record.msg)
        return True


_CALL_ARGUMENTS = re.compile(r"(\[\d+\])\((?:[^()]|\([^()]*\))*\)")
# What procrastinate puts on its records about a job that says nothing of its arguments.
_JOB_FIELDS = ("id", "task_name", "queue", "attempts", "status", "scheduled_at")


class JobArgumentsFilter(logging.Filter):
    """Leaves a job's arguments out of procrastinate's lines: its messages name a job as
    `task[id](arguments)` and its `job` field carries them too. Ours are ids, but a line must
    not depend on that; the id finds the job (`medbook jobs`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # On the handler: a logger's own filter would miss procrastinate.worker and the rest.
        if not record.name.startswith("procrastinate"):
            return True
        if isinstance(record.msg, str):
            record.msg = _CALL_ARGUMENTS.sub(r"\1(…)", record.msg)
        job = getattr(record, "job", None)
        if isinstance(job, dict):
            record.job = {key: job[key] for key in _JOB_FIELDS if key in job}
        if hasattr(record, "result"):
            record.result = "…"
        return True


def _strip_url(value: Any) -> Any:
    # httpx passes its URL object; show it without the query.
    copy_with = getattr(value, "copy_with", None)
    if callable(copy_with) and bool(getattr(value, "query", None)):
        return copy_with(query=None)
    return value


class SafeFormatter(logging.Formatter):
    """Readable lines for people: time, level, logger, request id, message, fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", REQUEST_ID.get())
        # logging keeps the first handler's rendering of the traceback on the record and reuses
        # it: render ours afresh, and leave the record as it was for any other handler.
        cached, record.exc_text = record.exc_text, None
        try:
            line = super().format(record)
        finally:
            record.exc_text = cached
        fields = _fields(record)
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line

    def formatException(self, ei: Any) -> str:
        return safe_exception_text(ei)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log shipper."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exception"] = safe_exception_text(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, default=str)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """What the caller passed with `extra=`: ids, statuses and durations, by our convention."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD and key != "request_id"
    }


def logging_config(level: str, log_format: LogFormat) -> dict[str, Any]:
    """The dictConfig for every process (the `medbook` command, uvicorn and its workers)."""
    level = level.upper()
    formatter = "json" if log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "no_query": {"()": QueryStringFilter},
            "job_arguments": {"()": JobArgumentsFilter},
        },
        "formatters": {
            "text": {"()": SafeFormatter},
            "json": {"()": JsonFormatter},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": formatter,
                "filters": ["request_id", "job_arguments"],
            },
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's own handlers are replaced by ours; its access log is off (ours is
            # medbook.access, which writes the route's template, never the query string).
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "filters": ["no_query"], "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "httpx": {"filters": ["no_query"]},
            **{name: {"level": _at_most(level, cap)} for name, cap in _CHATTY.items()},
        },
    }


def _at_most(level: str, cap: str) -> str:
    asked = logging.getLevelName(level)
    ceiling = logging.getLevelName(cap)
    if isinstance(asked, int) and isinstance(ceiling, int) and asked < ceiling:
        return cap
    return level


def configure_logging(level: str, log_format: LogFormat) -> dict[str, Any]:
    config = logging_config(level, log_format)
    logging.config.dictConfig(config)
    return config


access_log = logging.getLogger("medbook.access")


def route_template(scope: Any) -> str:
    """The matched route's path template (never the path itself, which may carry data)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "-"


class RequestContext:
    """Pure ASGI, outermost: gives each request an id (kept from X-Request-ID when it looks like
    one, answered in X-Request-ID) for every line logged while it runs, and writes the access
    line: method, route template, status, duration. Never the path's values or the query."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")
        request_id = new_request_id(given)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            elif message["type"] == "websocket.accept":
                status = 101
            elif message["type"] == "websocket.close" and not status:
                status = 403
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %s",
                scope.get("method", "WEBSOCKET"),
                route_template(scope),
                status,
                extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1)},
            )
            REQUEST_ID.reset(token)
