"""The whole platform as real processes: `medbook serve` on a real port, with MockPass for
Singpass and localstripe for payments, and `medbook worker` beside it when asked. Browser tests,
the hostile-input test and the log scan run against it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.identity.peers import Peer, start_mockpass
from tests.live import (
    LiveServer,
    WorkerProcess,
    free_port,
    start_live_server,
    start_worker,
    stop_live_server,
    stop_worker,
)
from tests.payments.helpers import Localstripe, start_localstripe


@dataclass
class Stack:
    server: LiveServer
    mockpass: Peer
    gateway: Localstripe
    worker: WorkerProcess | None = None

    @property
    def url(self) -> str:
        return self.server.url


def start_stack(
    database_url: str,
    logs: Path,
    *,
    persona_page: bool = False,
    worker: bool = False,
    **env: str,
) -> Stack:
    """Start localstripe, the server and MockPass (in that order: MockPass fetches our keys
    from the server), and with `worker` a `medbook worker` announcing hold expiries. `env` adds
    to or overrides the server's (and the worker's) settings."""
    port, mockpass_port = free_port(), free_port()
    # localhost, not 127.0.0.1: a browser keeps Secure (__Host-) cookies for localhost over http.
    url = f"http://localhost:{port}"
    gateway = start_localstripe(logs / "localstripe.log")
    settings = {
        "MEDBOOK_PUBLIC_BASE_URL": url,
        "MEDBOOK_SINGPASS_PROFILE": "legacy_v2",
        "MEDBOOK_SINGPASS_ISSUER": f"http://localhost:{mockpass_port}/singpass/v2",
        "MEDBOOK_SINGPASS_SCOPE": "openid",
        "MEDBOOK_PAYMENT_API_BASE": gateway.url,
        "MEDBOOK_PAYMENT_JS_URL": f"{gateway.url}/js.stripe.com/v3/",
        **env,
    }
    server = start_live_server(database_url, logs / "server.log", port=port, **settings)
    server.url = url
    mockpass = start_mockpass(
        rp_jwks_url=f"{url}/.well-known/jwks.json",
        log_path=logs / "mockpass.log",
        port=mockpass_port,
        host="localhost",
        persona_page=persona_page,
    )
    gateway.send_webhooks_to("stack", f"{url}/api/v1/payments/webhooks/stripe")
    background = None
    if worker:
        background = start_worker(
            database_url, logs / "worker.log", **{**settings, "MEDBOOK_HOLD_EXPIRY_WORKER": "true"}
        )
        background.wait_for("medbook.hold_expiry: this process took the lead")
    return Stack(server, mockpass, gateway, background)


def stop_stack(stack: Stack) -> None:
    if stack.worker is not None:
        stop_worker(stack.worker)
    stack.mockpass.stop()
    stop_live_server(stack.server)
    stack.gateway.stop()
