"""The HTTP client for calls we make to others (Singpass, the payment gateway)."""

from __future__ import annotations

from typing import Any

import httpx

from medbook.settings import Settings
from medbook.tls import client_context


def outbound_client(settings: Settings, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client whose HTTPS connections need TLS 1.3 and a verified certificate and host.

    Extra keyword arguments go to httpx.AsyncClient (base_url, auth, ...); `timeout` defaults to
    the configured one. `verify` cannot be overridden: that would switch the policy off.
    """
    # A peer that does not accept the connection at once is down: say so in seconds, not ten.
    kwargs.setdefault("timeout", httpx.Timeout(settings.outbound_timeout_seconds, connect=2.0))
    return httpx.AsyncClient(verify=client_context(settings.outbound_ca_file), **kwargs)
