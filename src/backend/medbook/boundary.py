"""The one boundary every request crosses before any route sees it.

Input is cleaned here once, so services can trust strings:
- a body is at most MAX_BODY bytes (413), and JSON (415 for anything else with a body);
- JSON is UTF-8 (422 `invalid_encoding`), nested at most MAX_JSON_DEPTH deep (422
  `json_too_deep`), measured before any parser that could recurse runs;
- no text anywhere (path, query, JSON keys and strings) carries a character a person never
  types and the database or a log line could choke on: C0 controls other than tab and line
  breaks, DEL, C1 controls, lone surrogates, the non-characters U+FFFE/U+FFFF (422
  `control_characters`). Fields that must be one line refuse tab and line breaks too, in their
  schema (medbook.schemas.SingleLine);
- no card number or card field (422 `card_data_refused`): card data is typed only into the
  gateway's own fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medbook.errors import send_problem
from medbook.payments.card_data import card_data_in_request

MAX_BODY = 1 << 20
# The gateway signs its webhooks and never sends a card number; its event bodies do carry
# fields named "card" (brand, last four digits), which the door must not turn away.
CARD_CHECK_EXEMPT = ("/api/v1/payments/webhooks/",)
MAX_JSON_DEPTH = 32
# Bodies above this are checked in a worker thread (a booking's body is well under 1 KiB).
IN_LINE_BODY = 64 << 10
# What no field may carry: C0 controls but tab, line feed and carriage return; DEL and C1;
# lone surrogates (a JSON "\ud800" decodes to one, and no encoder will take it); U+FFFE/FFFF.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
CARD_DATA_REFUSED = (
    "This request carries {}. Card details are never sent to us: they are typed only into the "
    "payment provider's own fields on the payment page. Nothing was stored."
)

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]")


class Refusal(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether the JSON text nests deeper than `limit`, without parsing it: brackets inside
    strings do not count. Linear in the body; stops at the first level past the limit."""
    brackets = _NOT_A_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def forbidden_character(text: str) -> str | None:
    """The first character no field may carry, as U+XXXX, or None."""
    found = FORBIDDEN.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _strings(document: Any) -> Iterator[tuple[str, str]]:
    """Every key and string value in a parsed JSON document, with where it is (iterative: a
    document may be as deep as the depth limit lets it be)."""
    pending: list[tuple[str, Any]] = [("body", document)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            yield where, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield f"{where}.{key!s:.40}", key
                pending.append((f"{where}.{key!s:.40}", item))
        elif isinstance(value, list):
            pending.extend((f"{where}[{index}]", item) for index, item in enumerate(value))


def check_text(where: str, text: str) -> None:
    character = forbidden_character(text)
    if character is not None:
        # Say where, never echo the text itself.
        where = where if forbidden_character(where) is None else "a field name"
        raise Refusal(
            422,
            "control_characters",
            f"{where} contains a control or invalid character ({character}); remove it.",
        )


def check_query(query: bytes) -> None:
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        check_text("query parameter", name)
        check_text(f"query parameter {name}", value)


def check_json_body(body: bytes) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(422, "invalid_encoding", "JSON bodies must be UTF-8.") from None
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        raise Refusal(
            422,
            "json_too_deep",
            f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels; no request needs that.",
        )
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return  # not JSON at all: the route's own validation says so, with where
    for where, value in _strings(document):
        check_text(where, value)


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class InputBoundary:
    """Pure ASGI middleware: refuses what no route should ever be handed (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            check_text("path", scope["path"])
            check_query(scope.get("query_string", b""))
            if scope["type"] == "http":
                receive = await self._checked_body(scope, receive)
        except Refusal as refusal:
            if scope["type"] == "websocket":
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})
                return
            await send_problem(send, refusal.status, refusal.code, refusal.detail)
            return
        await self.app(scope, receive, send)

    async def _checked_body(self, scope: Scope, receive: Receive) -> Receive:
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            raise _too_large()
        body, receive = await read_body(receive)
        query = scope.get("query_string", b"").decode("latin-1")
        content_type = headers.get("content-type", "")
        card_check = not scope["path"].startswith(CARD_CHECK_EXEMPT)
        if len(body) > IN_LINE_BODY:
            # Up to a few hundred milliseconds for a hostile megabyte: not on the event loop,
            # where every other request would wait for it.
            await anyio.to_thread.run_sync(check_body, body, content_type, query, card_check)
        else:
            check_body(body, content_type, query, card_check)
        return receive


def check_body(body: bytes, content_type: str, query: str, card_check: bool) -> None:
    # Card data first, whatever the media type: its refusal says what must never be sent.
    if card_check:
        reason = card_data_in_request(body, content_type or "application/json", query)
        if reason is not None:
            # Refused before any handler, log line or table can see it.
            raise Refusal(422, "card_data_refused", CARD_DATA_REFUSED.format(reason))
    if not body:
        return
    if content_type and not is_json(content_type):
        raise Refusal(
            415,
            "unsupported_media_type",
            "Request bodies are JSON: send Content-Type: application/json.",
        )
    check_json_body(body)


def _too_large() -> Refusal:
    return Refusal(413, "body_too_large", f"Request bodies are limited to {MAX_BODY} bytes.")


async def read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body (Refusal past MAX_BODY), and a receive that replays it."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"", _replay([message])
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    return body, _replay([{"type": "http.request", "body": body, "more_body": False}], receive)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive
