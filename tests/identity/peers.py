"""The real Singpass peers the identity tests talk to, and a "browser" that signs a person in.

- MockPass (npm @opengovsg/mockpass 4.3.4): Singpass legacy v2. `X-Custom-NRIC`/`X-Custom-UUID`
  headers on its authorize endpoint pick the person; it fetches our JWKS from
  SP_RP_JWKS_ENDPOINT to check our client assertion and to encrypt the ID token.
- tests/peers/fapi-provider.mjs (npm oidc-provider 9.x): Singpass FAPI 2.0. On its login form the
  login is the person's Singpass UUID and the password their NRIC (see that file).

Both run as node processes on a free port; `npm ci` runs first if tests/peers/node_modules is
missing (under a file lock, so two pytest processes can start together). The sign-in helpers stop
at our redirect URI and hand back the callback URL with code and state, without calling it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from medbook.settings import REPO_ROOT
from tests.live import free_port

PEERS_DIR = REPO_ROOT / "tests" / "peers"
STARTUP_TIMEOUT_SECONDS = 20.0
FAPI_CLIENT_ID = "medbook-test"


class PeerError(RuntimeError):
    """A peer did not start, or the sign-in did not go as a browser would expect."""


@dataclass(frozen=True)
class Persona:
    """Who signs in: an NRIC (None: a person without one, FAPI peer only) and a Singpass UUID."""

    nric: str | None
    uuid: str


@dataclass
class Peer:
    """A running peer. `issuer` is what SingpassConfig.issuer must be set to."""

    name: str
    url: str
    issuer: str
    process: subprocess.Popen[bytes]
    log_path: Path
    client_id: str | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        """What the peer printed (its stderr carries oidc-provider's error_detail)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# --- starting the peers ----------------------------------------------------------------------


def ensure_node_modules() -> None:
    """`npm ci` in tests/peers unless already done; safe when several processes ask at once."""
    if _node_modules_ready():
        return
    lock_name = "medbook-peers-" + hashlib.sha256(str(PEERS_DIR).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"{lock_name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _node_modules_ready():  # another process finished while we waited
                return
            result = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=PEERS_DIR,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if result.returncode != 0:
                raise PeerError(f"npm ci in {PEERS_DIR} failed:\n{result.stdout}\n{result.stderr}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _node_modules_ready() -> bool:
    modules = PEERS_DIR / "node_modules"
    # npm writes .package-lock.json last: without it the install did not finish.
    if not (modules / ".package-lock.json").exists():
        return False
    wanted = json.loads((PEERS_DIR / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        installed = modules / name / "package.json"
        if not installed.exists() or json.loads(installed.read_text())["version"] != version:
            return False  # a pin moved since the last install
    return True


def start_mockpass(
    *,
    rp_jwks_url: str,
    log_path: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    persona_page: bool = False,
) -> Peer:
    """MockPass on a free port, fetching our public JWKS from `rp_jwks_url`. Without the
    persona page, headers pick the person (the play-the-user helper); with it, a browser does."""
    ensure_node_modules()
    port = port or free_port()
    environment = _node_environment(
        PORT=str(port),
        SP_RP_JWKS_ENDPOINT=rp_jwks_url,
        SHOW_LOGIN_PAGE="true" if persona_page else "false",
    )
    url = f"http://{host}:{port}"
    process = _spawn(["node", "node_modules/@opengovsg/mockpass/index.js"], environment, log_path)
    peer = Peer("mockpass", url, f"{url}/singpass/v2", process, log_path)
    _wait_for_discovery(peer)
    return peer


def start_fapi_provider(
    *,
    redirect_uris: Sequence[str],
    log_path: Path,
    rp_jwks: dict[str, Any] | None = None,
    rp_jwks_uri: str | None = None,
    client_id: str = FAPI_CLIENT_ID,
    id_token_enc: str = "A256CBC-HS512",
    require_dpop_nonce: bool = False,
    port: int | None = None,
) -> Peer:
    """The FAPI 2.0 peer on a free port, with one client registered: `client_id`, its
    `redirect_uris`, and our public keys given inline (`rp_jwks`) or by URL (`rp_jwks_uri`)."""
    if (rp_jwks is None) == (rp_jwks_uri is None):
        raise ValueError("give exactly one of rp_jwks and rp_jwks_uri")
    ensure_node_modules()
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    settings = {
        "FAPI_PORT": str(port),
        "FAPI_ISSUER": url,
        "FAPI_CLIENT_ID": client_id,
        "FAPI_REDIRECT_URIS": ",".join(redirect_uris),
        "FAPI_ID_TOKEN_ENC": id_token_enc,
        "FAPI_REQUIRE_DPOP_NONCE": "1" if require_dpop_nonce else "0",
    }
    if rp_jwks is not None:
        settings["FAPI_RP_JWKS"] = json.dumps(rp_jwks)
    else:
        settings["FAPI_RP_JWKS_URI"] = str(rp_jwks_uri)
    process = _spawn(["node", "fapi-provider.mjs"], _node_environment(**settings), log_path)
    peer = Peer("fapi-provider", url, url, process, log_path, client_id=client_id)
    _wait_for_discovery(peer)
    return peer


def _node_environment(**settings: str) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        # A developer's MockPass settings (MOCKPASS_PORT wins over PORT) must not leak in.
        if not name.startswith(("MEDBOOK_", "FAPI_", "SP_", "CP_", "MOCKPASS_", "SHOW_LOGIN"))
    }
    environment.update(settings)
    return environment


def _spawn(
    command: list[str], environment: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command, cwd=PEERS_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT
        )


def _wait_for_discovery(peer: Peer) -> None:
    discovery = f"{peer.issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if peer.process.poll() is not None:
            raise PeerError(f"{peer.name} exited early:\n{peer.log()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(discovery, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    peer.stop()
    raise PeerError(f"{peer.name} did not answer {discovery} in time:\n{peer.log()}")


# --- a static JWKS endpoint (our public keys, until the real app serves them) ----------------


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that answers JSON and keeps quiet in the test output."""

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class BackgroundServer:
    """A local HTTP server on a free port, serving from a thread until stopped."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class JwksServer(BackgroundServer):
    """Our public JWKS over HTTP, as the app's /.well-known/jwks.json would serve it."""

    def __init__(self, jwks: Callable[[], dict[str, Any]]) -> None:
        self.jwks = jwks
        self.requests = 0
        owner = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                self.send_json(200, owner.jwks())

        super().__init__(Handler)
        self.url = f"{self.base_url}/.well-known/jwks.json"


# --- playing the person in the browser ----------------------------------------------------------


async def mockpass_sign_in(authorize_url: str, persona: Persona, *, redirect_uri: str) -> str:
    """Sign `persona` in at MockPass (legacy v2). Returns our callback URL (code, state)."""
    if persona.nric is None:
        raise ValueError("MockPass picks a person by NRIC and UUID: give both")
    headers = {"X-Custom-NRIC": persona.nric, "X-Custom-UUID": persona.uuid}
    return await _browse(authorize_url, redirect_uri, headers=headers, persona=persona)


async def fapi_sign_in(authorize_url: str, persona: Persona, *, redirect_uri: str) -> str:
    """Sign `persona` in at the FAPI peer: follow redirects, submit its login form with the UUID
    as login and the NRIC as password. Returns our callback URL (code, state, iss)."""
    return await _browse(authorize_url, redirect_uri, headers={}, persona=persona)


async def _browse(
    start_url: str, redirect_uri: str, *, headers: dict[str, str], persona: Persona
) -> str:
    # Our own client, like a browser with its own cookie jar; never the app's.
    async with httpx.AsyncClient(headers=headers, timeout=10, follow_redirects=False) as browser:
        method, url, form = "GET", start_url, None
        for _ in range(20):
            if _same_endpoint(url, redirect_uri):
                return url
            response = await browser.request(method, url, data=form)
            if response.is_redirect:
                method, url, form = "GET", urljoin(url, response.headers["location"]), None
                continue
            page = _first_form(response.text) if response.status_code == 200 else None
            if page is None:
                raise PeerError(
                    f"the sign-in stopped at {url} with HTTP {response.status_code}:\n"
                    f"{response.text[:2000]}"
                )
            action, fields = page
            if "login" in fields:
                fields["login"] = persona.uuid
                fields["password"] = persona.nric or ""
            method, url, form = "POST", urljoin(url, action), fields
        raise PeerError(f"the sign-in did not reach {redirect_uri} in 20 steps")


def _same_endpoint(url: str, endpoint: str) -> bool:
    left, right = urlsplit(url), urlsplit(endpoint)
    return (left.scheme, left.netloc, left.path) == (right.scheme, right.netloc, right.path)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_first_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and not self._done and self.action is None:
            self.action = attributes.get("action", "")
            self._in_first_form = True
        elif tag == "input" and self._in_first_form and "name" in attributes:
            self.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_first_form:
            self._in_first_form = False
            self._done = True


def _first_form(html: str) -> tuple[str, dict[str, str]] | None:
    parser = _FormParser()
    parser.feed(html)
    return None if parser.action is None else (parser.action, parser.fields)


@contextlib.contextmanager
def running(peer: Peer) -> Iterator[Peer]:
    try:
        yield peer
    finally:
        peer.stop()
