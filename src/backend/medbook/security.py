"""Response headers every answer carries, and the Origin check on state-changing requests."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medbook.errors import PROBLEM_JSON

# JSON answers need nothing loaded at all. The interactive docs page (Swagger UI) loads its
# script and style from jsDelivr and starts itself with one inline script.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
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

    def __init__(self, app: ASGIApp, allowed_origins: frozenset[str]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

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

        csp = DOCS_CSP if scope["path"].startswith(DOCS_PATHS) else API_CSP

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

    @staticmethod
    async def _refuse(send: Send) -> None:
        body = (
            b'{"type":"https://medbook.sg/problems/foreign_origin","title":"Forbidden",'
            b'"status":403,"code":"foreign_origin","detail":"Requests that change things '
            b'must come from our own pages."}'
        )
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        headers.append((b"content-security-policy", API_CSP.encode()))
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})
