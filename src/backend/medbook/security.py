"""Response headers every answer carries, and the Origin check on state-changing requests."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medbook.errors import send_problem

# JSON answers need nothing loaded at all. The interactive docs page (Swagger UI) is served
# from our own origin, from the pinned swagger-ui-py package, and started by a file of ours:
# no inline script, no other origin.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs",)
API_PATHS = ("/api/", "/openapi.json", "/.well-known/", "/healthz", "/readyz")
# Answers that may carry personal data or a token (every API answer, to be safe: a shared
# computer's browser or a proxy must never keep one).
NO_STORE = "no-store"


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
        csp = self._csp(scope["path"])
        api = scope["path"].startswith(API_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", csp)
                if api:
                    headers.setdefault("Cache-Control", NO_STORE)
            await send(message)

        if scope["method"] in UNSAFE_METHODS:
            origin = Headers(scope=scope).get("origin")
            if origin is not None and origin.lower() not in self._allowed(scope):
                await send_problem(
                    send_with_headers,
                    403,
                    "foreign_origin",
                    "Requests that change things must come from our own pages.",
                )
                return
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
