"""Response headers every answer carries, and the Origin check on state-changing requests."""

from __future__ import annotations

import json
from http import HTTPStatus
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medbook.errors import PROBLEM_JSON, PROBLEM_TYPE_BASE
from medbook.payments.card_data import card_data_in_request

# JSON answers need nothing loaded at all. The interactive docs page (Swagger UI) loads its
# script and style from jsDelivr and starts itself with one inline script.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
API_PATHS = ("/api/", "/openapi.json", "/.well-known/", "/healthz", "/readyz")
# The gateway signs its webhooks and never sends a card number; its event bodies do carry
# fields named "card" (brand, last four digits), which the door must not turn away.
CARD_CHECK_EXEMPT = ("/api/v1/payments/webhooks/",)
CARD_DATA_REFUSED = (
    "This request carries {}. Card details are never sent to us: they are typed only into the "
    "payment provider's own fields on the payment page. Nothing was stored."
)
MAX_BODY = 1 << 20


def page_csp(script_origins: tuple[str, ...], connect_origins: tuple[str, ...]) -> str:
    """The web app's pages, the payment page among them: scripts only from us and the payment
    gateway, whose card fields run in its own frames (PCI DSS 6.4.3 for embedded payment
    fields)."""
    scripts = " ".join(("'self'", *script_origins))
    frames = " ".join(script_origins) or "'none'"
    connects = " ".join(("'self'", *connect_origins))
    return (
        f"default-src 'self'; script-src {scripts}; frame-src {frames}; "
        f"connect-src {connects}; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(self)",
    "Cross-Origin-Opener-Policy": "same-origin",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class SecurityMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): adds the headers, refuses foreign Origins.

    A browser always sends Origin on a cross-site POST; refusing one that is not ours stops
    cross-site requests before any handler runs, whatever cookies they carry.
    """

    def __init__(
        self, app: ASGIApp, allowed_origins: frozenset[str], page_csp: str = API_CSP
    ) -> None:
        self.app = app
        self.allowed_origins = allowed_origins
        self.page_csp = page_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # A browser sends Origin with every WebSocket handshake, and the cookie with it:
            # a foreign page must not open a socket in our user's name.
            origin = Headers(scope=scope).get("origin")
            if origin is not None and origin.lower() not in self._allowed(scope):
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in UNSAFE_METHODS:
            origin = Headers(scope=scope).get("origin")
            if origin is not None and origin.lower() not in self._allowed(scope):
                await self._refuse(send)
                return

        if not scope["path"].startswith(CARD_CHECK_EXEMPT):
            body, receive = await _read_body(receive)
            if body is None:
                await self._problem(
                    send, 413, "body_too_large", f"Request bodies are limited to {MAX_BODY} bytes."
                )
                return
            headers = Headers(scope=scope)
            query = scope.get("query_string", b"").decode("latin-1")
            reason = card_data_in_request(body, headers.get("content-type", ""), query)
            if reason is not None:
                # Refused before any handler, log line or table can see it.
                await self._problem(
                    send, 422, "card_data_refused", CARD_DATA_REFUSED.format(reason)
                )
                return

        csp = self._csp(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", csp)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _allowed(self, scope: Scope) -> frozenset[str]:
        host = Headers(scope=scope).get("host")
        if host is None:
            return self.allowed_origins
        # A WebSocket's page is served over http(s): its Origin carries that scheme.
        scheme = {"ws": "http", "wss": "https"}.get(scope["scheme"], scope["scheme"])
        return self.allowed_origins | {f"{scheme}://{host}".lower()}

    def _csp(self, path: str) -> str:
        if path.startswith(DOCS_PATHS):
            return DOCS_CSP
        if path.startswith(API_PATHS):
            return API_CSP
        return self.page_csp

    async def _refuse(self, send: Send) -> None:
        await self._problem(
            send, 403, "foreign_origin", "Requests that change things must come from our own pages."
        )

    @staticmethod
    async def _problem(send: Send, status: int, code: str, detail: str) -> None:
        body = json.dumps(
            {
                "type": PROBLEM_TYPE_BASE + code,
                "title": HTTPStatus(status).phrase,
                "status": status,
                "code": code,
                "detail": detail,
            }
        ).encode()
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        headers.append((b"content-security-policy", API_CSP.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole request body (None past MAX_BODY), and a receive that replays it."""
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
            return None, receive
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
